//! What a message asks, without the courtesies around it. People write to
//! an assistant as they would to a colleague: "Hi steward, could you send
//! the digest? Thanks, M". The readers (commands, reminders, the router,
//! memory) read whole sentences, so a greeting before or thanks after the
//! request would hide it. A leading clause that is only a greeting or an
//! opener ("quick question", "sorry to bother you"), and a trailing one
//! that is only thanks (with a name or initial signing it), are taken off;
//! thanks first ("thanks, that helps") is the message itself.
//! Speech-to-text writes what was said without the commas: "um okay so
//! send me the digest thanks". The fillers a speaker starts with ("um",
//! "okay so", "hey steward"), the frames that only say a request follows
//! ("I want you to", "please you can", "I'd like to know"), and the
//! thanks, "please" or "ok" they end with are taken off as whole words too,
//! except where the word is what is said ("is everything ok", "tell Bob
//! thanks", "right now").
//! A message that is nothing but courtesy is left as it is: that is small
//! talk, for the router.

use super::small_talk::small_talk;

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

/// Words a speaker starts with that say nothing about the request,
/// longest first: each is taken off while a request follows.
const LEADING: [&str; 36] = [
    "hey steward",
    "hi steward",
    "hello steward",
    "okay so",
    "ok so",
    "yeah so",
    "right so",
    "alright so",
    "so yeah",
    "and also",
    "also",
    "umm",
    "um",
    "uhh",
    "uhm",
    "uh",
    "erm",
    "er",
    "hmm",
    "okay",
    "ok",
    "so",
    "right",
    "yeah",
    "yes",
    "yep",
    "well",
    "alright",
    "oh",
    "hey",
    "hi",
    "hello",
    "steward",
    "no",
    "nope",
    "nah",
];

/// What a leading filler is not followed by when it is the filler: "right
/// now", "so far", "well done", "no approvals?".
fn filler_before(filler: &str, next: &str) -> bool {
    match filler {
        "right" => !matches!(next, "now" | "away" | "after" | "before" | "here" | "there"),
        "so" => !matches!(next, "far" | "much" | "many" | "long" | "that"),
        "well" => !matches!(next, "done"),
        // "steward is down?": the subject, not a name called.
        "steward" => {
            !matches!(next, "is" | "was" | "has" | "can" | "could" | "will" | "would" | "does" | "did" | "keeps")
        }
        // "no, reject it": a correction before a command.
        "no" | "nope" | "nah" => {
            matches!(next, "approve" | "reject" | "decline" | "cancel" | "undo" | "retry" | "stop" | "pause")
        }
        _ => true,
    }
}

/// Frames that only say a request follows ("I want you to pause…",
/// second-language English "please you can…", "I want that you…") or a
/// question does ("I'd like to know when…"), longest first.
const FRAMES: [&str; 23] = [
    "please can you tell me",
    "can you please tell me",
    "could you please tell me",
    "please you can tell me",
    "i would like to know",
    "i'd like to know",
    "i want to know",
    "i need to know",
    "i would like you to",
    "i'd like you to",
    "i want you to",
    "i need you to",
    "i want that you",
    "i would like to",
    "i'd like to",
    "i want to",
    "i wish to",
    "i need to",
    "can you tell me",
    "could you tell me",
    "please you can",
    "please to",
    "you can",
];

/// Words a speaker ends with that only thank, urge or acknowledge, longest
/// first.
const TRAILING: [&str; 20] = [
    "thank you very much",
    "thank you so much",
    "thanks so much",
    "thanks a lot",
    "thank you steward",
    "thanks steward",
    "many thanks",
    "thank you",
    "thanks",
    "thx",
    "cheers",
    "please",
    "pls",
    "plz",
    "asap",
    "ty",
    "okay",
    "ok",
    "yeah",
    "steward",
];

/// Words after which "ok" is what is asked ("is everything ok", "system
/// ok?", "needs my okay"), not a filler; and after which "steward" is a
/// noun ("who is the steward").
const ASKED_OK: &str = "is are was were be been it it's that that's this everything all my your our their his her \
                        the a an not looks look seems sounds feel feels i'm we're you're am system systems things \
                        say says said get got give you u";

/// Whether a trailing filler ends the request rather than being its last
/// word: "ok" after "is everything" or "my" is what is asked about, and
/// thanks after "tell Bob" or "say" is what is to be said.
fn filler_after(filler: &str, before: &[&str]) -> bool {
    let Some(&last) = before.last() else { return false };
    match filler {
        "ok" | "okay" | "yeah" | "steward" => !ASKED_OK.split_whitespace().any(|w| w == last),
        _ => !before.iter().rev().take(2).any(|w| {
            matches!(
                *w,
                "say" | "says" | "said" | "saying" | "tell" | "tells" | "send" | "give" | "pass" | "and" | "big"
            )
        }),
    }
}

/// `t` without the first of `phrases` it starts with as whole words, when
/// `keeps` lets that phrase go before the next word and a request follows.
fn without_leading<'a>(t: &'a str, phrases: &[&str], keeps: impl Fn(&str, &str) -> bool) -> Option<&'a str> {
    phrases.iter().find_map(|p| {
        let head = t.get(..p.len()).filter(|h| h.eq_ignore_ascii_case(p))?;
        let rest = &t[head.len()..];
        if !rest.starts_with(|c: char| c.is_whitespace() || is_break(c)) {
            return None;
        }
        let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || is_break(c));
        let next: String = rest.split(|c: char| c.is_whitespace() || is_break(c)).next()?.to_lowercase();
        (!next.is_empty() && keeps(p, &next)).then_some(rest)
    })
}

/// `t` without the last of `TRAILING` it ends with as whole words, when
/// the words before let it be a filler. What ends the request itself ("due
/// when? pls") stays: a question keeps its mark.
fn without_trailing(t: &str) -> Option<&str> {
    let body = unended(t);
    TRAILING.iter().find_map(|p| {
        let start = body.len().checked_sub(p.len())?;
        body.get(start..).filter(|tail| tail.eq_ignore_ascii_case(p))?;
        let head = &body[..start];
        if !head.ends_with(|c: char| c.is_whitespace() || is_break(c)) {
            return None;
        }
        let before = head.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '—' | '–'));
        if unended(before).is_empty() {
            return None;
        }
        let lower = before.to_lowercase();
        let words: Vec<&str> =
            lower.split(|c: char| c.is_whitespace() || is_break(c)).filter(|w| !w.is_empty()).collect();
        filler_after(p, &words).then_some(before)
    })
}

/// Whether `t` is nothing but one filler ("please" after "yes please").
fn filler(t: &str) -> bool {
    let t = unended(t);
    LEADING.iter().chain(&TRAILING).chain(&FRAMES).any(|f| f.eq_ignore_ascii_case(t))
}

/// Spoken fillers and frames taken off as whole words, unpunctuated.
fn unfilled(mut t: &str) -> &str {
    loop {
        if let Some(rest) = without_leading(t, &LEADING, filler_before) {
            t = rest;
        } else if let Some(rest) = without_leading(t, &FRAMES, |_, _| true) {
            t = rest;
        } else if let Some(rest) = without_trailing(t) {
            t = rest;
        } else {
            return t;
        }
    }
}

/// An emoji or symbol (arrows, dingbats, pictographs, the joiners and
/// selectors between them): neither a letter nor punctuation.
fn decoration(c: char) -> bool {
    (c as u32 >= 0x2190 && !c.is_alphanumeric()) || matches!(c, '\u{200d}' | '\u{fe0f}')
}

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
    // "hi again", "hey there": small talk, whatever a filler would leave.
    if small_talk(whole).is_some() {
        return whole;
    }
    // Emoji around a request ("digest pls 🙏") say nothing about it.
    let mut t = whole.trim_matches(|c: char| decoration(c) || c.is_whitespace());
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
    let t = unfilled(t.trim_end_matches([',', ';', '—', '–', ':', ' ']));
    let t = t.trim_end_matches([',', ';', '—', '–', ':', ' ']);
    let nothing_left = unended(t).is_empty() || courtesy(t) || signature(t) || filler(t);
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
            // Unpunctuated, as speech-to-text writes it.
            ("um okay so send me the digest thanks", "send me the digest"),
            ("hey steward what's waiting on me please", "what's waiting on me"),
            ("Ok how much is invoice INV-2040 yeah.", "how much is invoice INV-2040"),
            ("uh no reject the latest request", "reject the latest request"),
            ("right I want you to pause the workflows ok", "pause the workflows"),
            ("please you can tell me when the VAT return is filed", "when the VAT return is filed"),
            ("I want that you approve all low risk", "approve all low risk"),
            ("I'd like to approve the latest one. Thanks.", "approve the latest one."),
            ("INV-2049 due when? 🙏", "INV-2049 due when?"),
            ("👍 digest pls asap", "digest"),
            ("system ok? asap", "system ok?"),
            ("INV-2040 due when? pls", "INV-2040 due when?"),
            ("yeah so what needs my okay thank you", "what needs my okay"),
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
            "is everything ok",
            "are you ok?",
            "what needs my okay",
            "tell Bob thanks",
            "email Priya and say thanks",
            "right now send the invoice",
            "so far what did we spend",
            "yes please",
            "ok thanks",
            "no approvals today?",
            "steward",
            "Yes",
            "hi again",
            "👍 thanks",
            "🙏",
            "who is the steward",
            "steward is down?",
            "hey there",
            "ok thank you so much",
        ] {
            assert_eq!(core(said), said.trim(), "{said}");
        }
    }
}
