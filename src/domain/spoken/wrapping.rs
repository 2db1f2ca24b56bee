//! What a message asks, without the courtesies around it. People write to
//! an assistant as they would to a colleague: "Hi steward, could you send
//! the digest? Thanks, M". The readers (commands, reminders, the router,
//! memory) read whole sentences, so a greeting before or thanks after the
//! request would hide it. A leading clause that is only a greeting or an
//! opener ("quick question", "sorry to bother you"), and a trailing one
//! that is only thanks (with a name or initial signing it), are taken off;
//! thanks first ("thanks, that helps") is the message itself.
//! A message that is nothing but courtesy is left as it is: that is small
//! talk, for the router.

use super::words::small_talk;

/// Openers that say nothing about what is asked.
const OPENERS: [&str; 14] = [
    "quick one",
    "quick question",
    "just a quick one",
    "one more thing",
    "by the way",
    "btw",
    "sorry to bother you",
    "sorry to bug you",
    "sorry to trouble you",
    "hope you're well",
    "hope you are well",
    "so",
    "right",
    "ok so",
];

/// Where one clause ends and the next begins.
fn is_break(c: char) -> bool {
    matches!(c, ',' | '!' | ':' | ';' | '.' | '?' | '—' | '–')
}

/// Whether a clause (without its break) says nothing but courtesy.
fn courtesy(clause: &str) -> bool {
    let c = clause.trim().trim_matches(|c: char| is_break(c) || c == '-').trim();
    !c.is_empty() && (small_talk(c).is_some() || OPENERS.iter().any(|o| c.eq_ignore_ascii_case(o)))
}

/// Whether a clause opening a message only greets or opens: thanks first
/// ("thanks, that helps") is the message itself.
fn opening(clause: &str) -> bool {
    courtesy(clause) && small_talk(clause.trim()) != Some("thanks")
}

/// A sign-off's name: one capitalised word or an initial ("M", "Jo").
fn signature(clause: &str) -> bool {
    let c = clause.trim().trim_end_matches(['.', '!']);
    !c.is_empty()
        && c.len() <= 12
        && !c.contains(char::is_whitespace)
        && c.chars().next().is_some_and(char::is_uppercase)
        && c.chars().all(|ch| ch.is_alphabetic() || ch == '.')
}

/// The last clause break in `t` (its byte range), if any.
fn last_break(t: &str) -> Option<(usize, usize)> {
    t.char_indices().rev().find(|(_, c)| is_break(*c)).map(|(i, c)| (i, i + c.len_utf8()))
}

/// `t` without its trailing breaks and spaces.
fn unended(t: &str) -> &str {
    t.trim_end_matches(|c: char| is_break(c) || c.is_whitespace())
}

/// `text` without the courtesies before and after what it asks; `text`
/// itself when that would leave nothing but courtesy.
pub fn core(text: &str) -> &str {
    let whole = text.trim();
    let mut t = whole;
    // Leading clauses: "Hi steward, quick one: …".
    while let Some((start, end)) = t.char_indices().find(|(_, c)| is_break(*c)).map(|(i, c)| (i, i + c.len_utf8())) {
        if !opening(&t[..start]) {
            break;
        }
        t = t[end..].trim_start_matches(|c: char| is_break(c) || c.is_whitespace());
    }
    // Trailing clauses: "… Thanks.", "… Cheers, M", "… many thanks!".
    loop {
        let body = unended(t);
        let Some((start, end)) = last_break(body) else { break };
        let last = &body[end..];
        if courtesy(last) {
            t = &t[..end];
            continue;
        }
        // A name signing the thanks before it: "… Cheers, M".
        let before = unended(&body[..start]);
        match last_break(before) {
            Some((_, thanks_end)) if signature(last) && courtesy(&before[thanks_end..]) => t = &t[..thanks_end],
            _ => break,
        }
    }
    let t = t.trim_end_matches([',', ';', '—', '–', ':', ' ']);
    let nothing_left = unended(t).is_empty() || courtesy(t) || signature(t);
    if nothing_left { whole } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn courtesies_around_a_request_are_taken_off() {
        for (said, asked) in [
            ("Hi steward, is anything waiting for me?", "is anything waiting for me?"),
            ("Morning! what did the models cost today? Thanks.", "what did the models cost today?"),
            ("Quick question: when is INV-2041 due? Cheers, M", "when is INV-2041 due?"),
            ("hey, remind me tomorrow at 9 to call Bob, thank you!", "remind me tomorrow at 9 to call Bob"),
            ("Sorry to bother you, please pause every workflow. Many thanks!", "please pause every workflow."),
            ("pause the newsletter, thanks", "pause the newsletter"),
        ] {
            assert_eq!(core(said), asked, "{said}");
        }
    }

    #[test]
    fn what_is_not_courtesy_stays() {
        for said in [
            "thanks so much!",
            "Hello there.",
            "Acme, Globex and Initech: send each the invoice",
            "tell Bob thanks for the report",
            "When is the Hello Fresh invoice due?",
            "Remind me, when did we move the Atlas launch?",
            "Good. Now send it to Priya",
            "Thanks, M",
            "Hi! Thanks!",
            "send the invoice to bob@acme.com",
            "thanks, that's all",
        ] {
            assert_eq!(core(said), said.trim(), "{said}");
        }
    }
}
