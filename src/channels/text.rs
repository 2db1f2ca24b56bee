//! Text helpers the chat channels share: splitting a long message at the
//! most natural boundary that fits, and HTML escaping.

/// Splits `text` into parts of at most `max` units (as `len` counts them):
/// at paragraph breaks where it can, then at line breaks, then at spaces,
/// and inside a word only when a word alone is too long. Nothing is lost:
/// the parts joined with the separators they were split at give the text.
pub fn split(text: &str, max: usize, len: fn(&str) -> usize) -> Vec<String> {
    let max = max.max(1);
    let mut parts = Vec::new();
    pack(text, max, len, &["\n\n", "\n", " "], &mut parts);
    parts.retain(|p: &String| !p.trim().is_empty());
    if parts.is_empty() {
        parts.push(text.to_owned());
    }
    parts
}

fn pack(text: &str, max: usize, len: fn(&str) -> usize, seps: &[&str], out: &mut Vec<String>) {
    if len(text) <= max {
        out.push(text.to_owned());
        return;
    }
    let Some((sep, rest)) = seps.split_first() else {
        // No boundary left: cut between characters.
        let mut cur = String::new();
        for ch in text.chars() {
            let mut next = cur.clone();
            next.push(ch);
            if len(&next) > max && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
                cur.push(ch);
            } else {
                cur = next;
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        return;
    };
    let mut cur = String::new();
    for piece in text.split(sep) {
        let joined = if cur.is_empty() { piece.to_owned() } else { format!("{cur}{sep}{piece}") };
        if len(&joined) <= max {
            cur = joined;
            continue;
        }
        if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if len(piece) <= max {
            cur = piece.to_owned();
        } else {
            pack(piece, max, len, rest, out);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
}

/// At most `max` characters, the last an ellipsis when something was cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Length in UTF-16 code units, as Telegram counts.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Length in characters, as Discord counts.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Escapes text for Telegram's HTML (and any HTML): `&`, `<`, `>`, `"`.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Turns our HTML back into plain text: tags dropped, entities decoded.
/// The fallback when a platform refuses the markup.
pub fn html_to_plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for ch in s.chars() {
        match (ch, in_tag) {
            ('<', false) => in_tag = true,
            ('>', true) => in_tag = false,
            (c, false) => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_splits_at_paragraphs_then_lines_then_words() {
        let para = "word ".repeat(300); // 1500 chars
        let text = format!("{para}\n\n{para}\n\n{para}");
        let parts = split(&text, 4096, utf16_len);
        assert_eq!(parts.len(), 2, "two paragraphs fit in the first part");
        assert!(parts.iter().all(|p| utf16_len(p) <= 4096));
        assert_eq!(parts.join("\n\n"), text, "nothing lost");

        let one_line = "abcdefghij ".repeat(1000);
        let parts = split(&one_line, 4096, utf16_len);
        assert!(parts.iter().all(|p| utf16_len(p) <= 4096) && parts.len() == 3);
        assert!(parts.iter().all(|p| !p.starts_with(' ')), "cut at spaces");

        let word = "x".repeat(9000);
        let parts = split(&word, 4096, utf16_len);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [4096, 4096, 808]);
    }

    #[test]
    fn clipping_keeps_within_the_limit() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!(clip("ééééé", 3).chars().count(), 3);
    }

    #[test]
    fn telegram_counts_utf16_units() {
        let emoji = "😀".repeat(3000); // 6000 UTF-16 units
        let parts = split(&emoji, 4096, utf16_len);
        assert!(parts.iter().all(|p| utf16_len(p) <= 4096));
        assert_eq!(parts.concat(), emoji);
    }

    #[test]
    fn hostile_text_is_escaped_and_comes_back() {
        let s = r#"<b>bold & "quoted" <i>unmatched"#;
        let e = escape_html(s);
        assert_eq!(e, "&lt;b&gt;bold &amp; &quot;quoted&quot; &lt;i&gt;unmatched");
        assert_eq!(html_to_plain(&e), s);
        assert_eq!(html_to_plain("<b>Title</b>\n&amp; more"), "Title\n& more");
    }
}
