//! A note file: Markdown split at its headings (each section a record,
//! with the file and its heading path as provenance), plain text whole;
//! front matter is left out, and a `#` inside a code fence is no heading.

use serde_json::json;

use super::{Item, Read, hash, pieces};
use crate::domain::{MemoryKind, Millis};

/// The files a notes folder is read for.
pub const NOTE_EXTENSIONS: [&str; 4] = ["md", "markdown", "txt", "text"];

/// A Markdown heading's level and title.
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.chars().take_while(|&c| c == '#').count();
    let rest = &line[level..];
    ((1..=6).contains(&level) && (rest.is_empty() || rest.starts_with([' ', '\t'])))
        .then(|| (level, rest.trim().trim_end_matches('#').trim()))
}

/// The text after a front matter block (`---` … `---` at the very top).
fn without_front_matter(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")) else { return text };
    match rest.find("\n---") {
        Some(end) => rest[end + 4..].trim_start_matches(['-']).trim_start_matches(['\r', '\n']),
        None => text,
    }
}

/// The sections of a Markdown text: (heading path, text with its heading).
fn sections(text: &str) -> Vec<(Vec<String>, String)> {
    let mut out: Vec<(Vec<String>, String)> = vec![(vec![], String::new())];
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
        }
        if let Some((level, title)) = heading(line).filter(|_| !fenced) {
            path.retain(|(l, _)| *l < level);
            path.push((level, title.to_owned()));
            out.push((path.iter().map(|(_, t)| t.clone()).collect(), String::new()));
        }
        let current = &mut out.last_mut().expect("one section at least").1;
        current.push_str(line);
        current.push('\n');
    }
    out
}

/// The records of one note file at `rel` (its path inside the folder),
/// last modified at `modified`. Their source ids all begin `notes:REL#`:
/// importing the file again after an edit replaces exactly these.
pub fn note(rel: &str, text: &str, modified: Option<Millis>) -> Read {
    let mut read = Read::default();
    let body = without_front_matter(text);
    let markdown = !rel.ends_with(".txt") && !rel.ends_with(".text");
    let parts = if markdown { sections(body) } else { vec![(vec![], body.to_owned())] };
    for (path, section) in parts {
        // A heading with nothing under it says nothing on its own.
        let content = section.lines().filter(|l| heading(l).is_none()).collect::<String>();
        if content.trim().is_empty() {
            continue;
        }
        let title = path.join(" > ");
        for (i, piece) in pieces(&section).into_iter().enumerate() {
            // A piece after the first keeps its heading, so it says what it is about.
            let text = if i > 0 && !title.is_empty() { format!("{title}\n\n{piece}") } else { piece };
            read.items.push(Item {
                source_id: format!("{}{}", prefix(rel), hash(&format!("{title}\n{text}"))),
                kind: MemoryKind::Note,
                occurred_at: modified,
                actor: "import".into(),
                meta: json!({"file": rel, "heading": title}),
                text,
            });
        }
    }
    if read.items.is_empty() && !text.trim().is_empty() {
        read.refuse(rel, "only headings or front matter, no text");
    }
    read
}

/// What every imported note's source id begins with.
pub const SOURCE: &str = "notes:";

/// What every record of the file at `rel` has its source id begin with.
pub fn prefix(rel: &str) -> String {
    format!("{SOURCE}{rel}#")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "---\ntitle: Clients\n---\nIntro line.\n\n# Globex\nPays net 30.\n\n## Contacts\nAnna, CFO.\n\n\
```sh\n# not a heading\n```\n\n# Empty\n\n# Initech\nWants a discount.\n";

    #[test]
    fn markdown_is_split_at_headings_with_their_path() {
        let read = note("clients.md", NOTE, Some(1_700_000_000_000));
        let headings: Vec<&str> = read.items.iter().map(|i| i.meta["heading"].as_str().unwrap()).collect();
        assert_eq!(headings, ["", "Globex", "Globex > Contacts", "Initech"]);
        assert_eq!(read.items[0].text, "Intro line.", "front matter is left out");
        assert!(read.items[2].text.contains("# not a heading"), "a fenced # stays text");
        assert!(read.items.iter().all(|i| i.source_id.starts_with("notes:clients.md#") && i.occurred_at.is_some()));
        assert!(read.refused.is_empty());
        // The same text reads the same ids; an edit changes only its section's.
        let again = note("clients.md", NOTE, Some(1));
        assert_eq!(
            read.items.iter().map(|i| &i.source_id).collect::<Vec<_>>(),
            again.items.iter().map(|i| &i.source_id).collect::<Vec<_>>()
        );
        let edited = note("clients.md", &NOTE.replace("net 30", "net 45"), None);
        let changed: Vec<bool> =
            read.items.iter().zip(&edited.items).map(|(a, b)| a.source_id != b.source_id).collect();
        assert_eq!(changed, [false, true, false, false]);
    }

    #[test]
    fn plain_text_is_one_record_and_empty_files_none() {
        let read = note("todo.txt", "# not markdown here\nbuy paper", None);
        assert_eq!(read.items.len(), 1);
        assert!(note("blank.md", "  \n", None).items.is_empty());
        assert_eq!(note("heads.md", "# A\n# B\n", None).refused.len(), 1);
    }
}
