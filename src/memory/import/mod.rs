//! Reading what a solo operator already has into records: a folder of
//! notes, a Telegram Desktop or DiscordChatExporter chat export, an mbox.
//! Pure: each reader turns bytes into items, each with the time it
//! happened and a `source_id` (what it was made from, with a hash of its
//! text), so importing the same thing again adds nothing. `app::import`
//! writes them.

mod chats;
mod mbox;
mod notes;

use sha2::{Digest, Sha256};

use crate::domain::{MemoryKind, Millis};

pub use chats::{discord, telegram};
pub use mbox::mbox;
pub use notes::{NOTE_EXTENSIONS, SOURCE as NOTES_SOURCE, note, prefix as note_prefix};

/// The longest text one record takes; longer texts are cut at paragraph
/// (or line, or word) boundaries into several.
pub const MAX_PIECE: usize = 4_000;
/// The largest file an import reads.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// One record an import would add.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub text: String,
    pub kind: MemoryKind,
    /// When it happened (a message's date, a file's modified time).
    pub occurred_at: Option<Millis>,
    /// What it was made from: its unit's prefix, where in it, and a hash of
    /// its text.
    pub source_id: String,
    /// Who said or wrote it.
    pub actor: String,
    pub meta: serde_json::Value,
}

/// What one source held: its items, and what could not be read (where,
/// and why).
#[derive(Debug, Default)]
pub struct Read {
    pub items: Vec<Item>,
    pub refused: Vec<(String, String)>,
}

impl Read {
    fn refuse(&mut self, at: impl Into<String>, why: impl Into<String>) {
        self.refused.push((at.into(), why.into()));
    }
}

/// The first 16 hex digits of the SHA-256 of `text`.
pub fn hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// A said thing's kind: a question when it asks, else a statement.
pub fn said(text: &str) -> MemoryKind {
    if text.trim_end().ends_with('?') { MemoryKind::Question } else { MemoryKind::Statement }
}

/// `text` cut into pieces of at most [`MAX_PIECE`] characters, at the last
/// paragraph break that fits, else the last line break, else the last
/// space, else anywhere.
pub fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while rest.chars().count() > MAX_PIECE {
        let end = rest.char_indices().nth(MAX_PIECE).map_or(rest.len(), |(i, _)| i);
        let window = &rest[..end];
        let cut = ["\n\n", "\n", " "].iter().find_map(|sep| window.rfind(sep).filter(|&i| i > 0)).unwrap_or(end);
        out.push(rest[..cut].trim().to_owned());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out.retain(|p| !p.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_at_paragraphs_and_nothing_is_lost() {
        let para = "word ".repeat(300);
        let text = [para.trim(), para.trim(), para.trim(), para.trim()].join("\n\n");
        let p = pieces(&text);
        assert!(p.len() >= 2 && p.iter().all(|x| x.chars().count() <= MAX_PIECE), "{}", p.len());
        assert_eq!(p.join(" ").split_whitespace().count(), text.split_whitespace().count());
        let unbroken = "x".repeat(MAX_PIECE * 2 + 5);
        assert_eq!(pieces(&unbroken).iter().map(|x| x.len()).sum::<usize>(), unbroken.len());
        assert!(pieces("  \n ").is_empty());
    }

    #[test]
    fn questions_are_told_from_statements() {
        assert_eq!(said("did Globex pay? "), MemoryKind::Question);
        assert_eq!(said("Globex paid."), MemoryKind::Statement);
    }
}
