//! Reminders as people write them: "remind me tomorrow at 9 to call Bob",
//! "remind me in 2 hours to send the quote", "every Monday at 8 remind me
//! to review the pipeline", "/remind friday 3pm dentist". Read with no
//! model: the words are split into what to do and when, and the when is
//! read by `interim` (absolute and relative dates and times) or, when it
//! repeats, turned into a cron expression here. Times are in the
//! operator's time zone.

mod every;
mod once;
#[cfg(test)]
mod tests;
mod words;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A reminder read from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    /// What to be reminded of.
    pub task: String,
    pub when: When,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// Once, at this time.
    Once(DateTime<Utc>),
    /// Every period of this cron expression (five fields) in the zone.
    Every(String),
}

/// The longest task a reminder keeps.
pub const MAX_TASK: usize = 500;

/// Whether free text asks for a reminder (it may still be unreadable):
/// it starts with "remind me" (or "please/can you remind me"), or says when
/// first ("every monday at 8 remind me …"). A question that mentions
/// reminding ("what did you remind me about?") is not one.
pub fn is_reminder(text: &str) -> bool {
    let text = &canonical(text);
    let t = text.trim().to_lowercase();
    let t = t.trim_start_matches("please").trim_start();
    let asks = ["remind me ", "can you remind me ", "could you remind me ", "/remind "];
    if asks.iter().any(|a| t.starts_with(a)) {
        return true;
    }
    let when_first = ["every ", "each ", "tomorrow", "tonight", "in ", "on ", "at ", "next ", "this "];
    when_first.iter().any(|w| t.starts_with(w)) && t.contains(" remind me ")
}

/// Other ways of asking for a reminder, each read as "remind me …": the
/// opening (lower case, after an optional "please"), and whether it always
/// asks for one. "set a reminder for friday at 9 to …", "reminder: call Bob
/// at 5", "don't let me forget to …" always do; "ping me tomorrow about …"
/// only when what follows reads as a reminder (`ping me when it deploys`
/// is no time).
const OPENINGS: [(&str, bool); 14] = [
    ("set a reminder for me", true),
    ("set me a reminder", true),
    ("set a reminder", true),
    ("add a reminder", true),
    ("create a reminder", true),
    ("make a reminder", true),
    ("reminder", true),
    ("don't let me forget", true),
    ("dont let me forget", true),
    ("do not let me forget", true),
    ("ping me", false),
    ("nudge me", false),
    ("text me", false),
    ("message me", false),
];

/// `text` with another way of asking for a reminder put as "remind me …"
/// (the rest in the writer's case); otherwise `text` as it is.
pub fn canonical(text: &str) -> String {
    let t = text.trim();
    let after_please = ["please ", "can you ", "could you "].iter().find_map(|p| after_ci(t, p)).unwrap_or(t);
    for (opening, always) in OPENINGS {
        let Some(rest) = after_ci(after_please, opening) else { continue };
        // A whole word, then what follows: "reminder: …", "reminder to …".
        if !rest.is_empty() && !rest.starts_with([' ', ':', ',', '-', '–', '—']) {
            continue;
        }
        let rest = rest.trim_start_matches([':', ',', '-', '–', '—', ' ']);
        // "set a reminder for friday": "for" says when, not what.
        let rest = after_ci(rest, "for ").unwrap_or(rest);
        let said = format!("remind me {rest}");
        let reads = || parse_canonical(&said, DateTime::<Utc>::UNIX_EPOCH, chrono_tz::UTC).is_ok();
        if always || reads() {
            return said;
        }
    }
    t.to_owned()
}

/// What follows `prefix` (lower-case ASCII, `'` for either apostrophe) at
/// the start of `text`, in any case: a slice of `text` itself.
fn after_ci<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let mut chars = text.char_indices();
    for want in prefix.chars() {
        let (_, got) = chars.next()?;
        let got = if got == '’' { '\'' } else { got.to_ascii_lowercase() };
        if got != want {
            return None;
        }
    }
    Some(chars.next().map_or("", |(at, _)| &text[at..]))
}

/// Reads a reminder; the error says what could not be read, in words for
/// the person who wrote it.
pub fn parse(text: &str, now: DateTime<Utc>, tz: Tz) -> Result<Phrase, String> {
    parse_canonical(&canonical(text), now, tz)
}

fn parse_canonical(text: &str, now: DateTime<Utc>, tz: Tz) -> Result<Phrase, String> {
    let lower = lower_in_place(text.trim().trim_end_matches(['.', '!', '?']));
    let original = text.trim().trim_end_matches(['.', '!', '?']);
    // Where the reminder's own words start, in the original (its task keeps
    // the writer's case).
    let (head, rest) = if let Some(r) = lower.strip_prefix("/remind") {
        // "/remind me …" says the same.
        let r = match r.trim_start().strip_prefix("me ") {
            Some(after) => after,
            None => r,
        };
        (String::new(), (original.len() - r.len(), r))
    } else {
        let at = lower.find("remind me").ok_or("say `remind me …` or `/remind …`")?;
        let before = lower[..at].trim().trim_end_matches(',').trim();
        let before = before.trim_start_matches("please").trim().trim_end_matches("please").trim();
        let before = before.trim_end_matches("can you").trim_end_matches("could you").trim();
        let r = &lower[at + "remind me".len()..];
        (before.to_owned(), (original.len() - r.len(), r))
    };
    let (offset, rest) = rest;
    let words: Vec<(usize, &str)> = words(rest).into_iter().map(|(i, w)| (i + offset, w)).collect();
    if !head.is_empty() {
        let when = read_when(&head, now, tz)?;
        let task = task(original, &words, 0, words.len())?;
        return Ok(Phrase { task, when });
    }
    if words.is_empty() {
        return Err("say what to be reminded of, and when: `remind me tomorrow at 9 to call Bob`".into());
    }
    // The task first ("to call Bob tomorrow at 9"): the longest ending that
    // reads as a time.
    if matches!(words[0].1, "to" | "that" | "about" | "of") {
        for start in 1..words.len() {
            if let Ok(when) = read_when(&joined(&words[start..]), now, tz) {
                return Ok(Phrase { task: task(original, &words, 0, start)?, when });
            }
        }
    }
    // The time first ("tomorrow at 9 to call Bob", "/remind friday 3pm
    // dentist"): the longest beginning that reads as a time.
    for end in (1..words.len()).rev() {
        if let Ok(when) = read_when(&joined(&words[..end]), now, tz) {
            return Ok(Phrase { task: task(original, &words, end, words.len())?, when });
        }
    }
    // The task first with no "to" ("reminder: call Bob at 5").
    for start in 1..words.len() {
        if let Ok(when) = read_when(&joined(&words[start..]), now, tz) {
            return Ok(Phrase { task: task(original, &words, 0, start)?, when });
        }
    }
    Err("I could not tell when: try `remind me tomorrow at 9 to …`, `in 2 hours`, `on friday at 3pm`, \
         or `every monday at 8`"
        .into())
}

/// `text` in lower case, byte for byte where it was: a letter whose lower
/// case is longer or shorter ("İ", "ẞ") stays as it is, so a place in the
/// lower-case text is the same place in the original.
fn lower_in_place(text: &str) -> String {
    text.chars()
        .map(|c| {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) if l.len_utf8() == c.len_utf8() => l,
                _ => c,
            }
        })
        .collect()
}

/// The words of `text` with where each starts.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

fn joined(words: &[(usize, &str)]) -> String {
    words.iter().map(|(_, w)| *w).collect::<Vec<_>>().join(" ")
}

/// The task: words `from..to`, in the writer's case, without a leading
/// "to", "that" or "about".
fn task(original: &str, words: &[(usize, &str)], from: usize, to: usize) -> Result<String, String> {
    let mut from = from;
    while from < to && matches!(words[from].1, "to" | "that" | "about" | "of" | "i" | "me") {
        // "remind me that I need to …" keeps "need to …".
        if words[from].1 == "i" && from + 1 < to && !matches!(words[from + 1].1, "need" | "have" | "must" | "should") {
            break;
        }
        from += 1;
    }
    if from >= to {
        return Err("say what to be reminded of: `remind me tomorrow at 9 to call Bob`".into());
    }
    let (start, (last_at, last)) = (words[from].0, words[to - 1]);
    let text = original[start..last_at + last.len()].trim().trim_end_matches([',', ';']).trim();
    if text.chars().count() > MAX_TASK {
        return Err(format!("that is long for a reminder: keep it under {MAX_TASK} characters"));
    }
    Ok(text.to_owned())
}

/// A when: repeating ("every monday at 8") or once ("tomorrow at 9").
fn read_when(text: &str, now: DateTime<Utc>, tz: Tz) -> Result<When, String> {
    let text = text.trim().trim_end_matches(',');
    let first = text.split_whitespace().next().unwrap_or_default();
    if matches!(first, "every" | "each" | "daily" | "weekly" | "monthly" | "weekdays" | "hourly") {
        return every::every(text).map(When::Every);
    }
    once::once(text, now, tz).map(When::Once)
}
