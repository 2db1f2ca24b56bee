//! Reminders as people write them: "remind me tomorrow at 9 to call Bob",
//! "remind me in 2 hours to send the quote", "every Monday at 8 remind me
//! to review the pipeline", "/remind friday 3pm dentist". Read with no
//! model: the words are split into what to do and when, and the when is
//! read by `interim` (absolute and relative dates and times) or, when it
//! repeats, turned into a cron expression here. Times are in the
//! operator's time zone.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc};
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
/// When nothing says what time of day: 09:00.
const DEFAULT_HOUR: u32 = 9;

/// Whether free text asks for a reminder (it may still be unreadable):
/// it starts with "remind me" (or "please/can you remind me"), or says when
/// first ("every monday at 8 remind me …"). A question that mentions
/// reminding ("what did you remind me about?") is not one.
pub fn is_reminder(text: &str) -> bool {
    let t = text.trim().to_lowercase();
    let t = t.trim_start_matches("please").trim_start();
    let asks = ["remind me ", "can you remind me ", "could you remind me ", "/remind "];
    if asks.iter().any(|a| t.starts_with(a)) {
        return true;
    }
    let when_first = ["every ", "each ", "tomorrow", "tonight", "in ", "on ", "at ", "next ", "this "];
    when_first.iter().any(|w| t.starts_with(w)) && t.contains(" remind me ")
}

/// Reads a reminder; the error says what could not be read, in words for
/// the person who wrote it.
pub fn parse(text: &str, now: DateTime<Utc>, tz: Tz) -> Result<Phrase, String> {
    let lower = text.trim().trim_end_matches(['.', '!', '?']).to_lowercase();
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
    Err("I could not tell when: try `remind me tomorrow at 9 to …`, `in 2 hours`, `on friday at 3pm`, \
         or `every monday at 8`"
        .into())
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
        return every(text).map(When::Every);
    }
    once(text, now, tz).map(When::Once)
}

const WEEKDAYS: [(&str, u32); 7] = [("sun", 0), ("mon", 1), ("tue", 2), ("wed", 3), ("thu", 4), ("fri", 5), ("sat", 6)];

fn weekday(word: &str) -> Option<u32> {
    let w = word.trim_end_matches(['s', ',']);
    let full = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
    WEEKDAYS
        .iter()
        .find(|(short, _)| {
            w == *short || full.iter().any(|f| f.starts_with(short) && (w == *f || (w.len() >= 3 && f.starts_with(w))))
        })
        .map(|(_, n)| *n)
}

/// A repeating when, as a cron expression.
fn every(text: &str) -> Result<String, String> {
    let (days, time) = match text.split_once(" at ") {
        Some((d, t)) => (d.trim(), Some(t.trim())),
        None => (text, None),
    };
    let mut words: Vec<&str> =
        days.split_whitespace().filter(|w| !matches!(*w, "every" | "each" | "on" | "and" | "the")).collect();
    // A time of day said by word ("every morning").
    let mut at = time.map(clock_time).transpose()?;
    words.retain(|w| match part_of_day(w) {
        Some(t) => {
            at.get_or_insert(t);
            false
        }
        None => true,
    });
    if at.is_none() {
        // "every monday 8am": a time as the last word.
        if let Some(t) = words.last().and_then(|w| clock_time(w).ok()) {
            at = Some(t);
            words.pop();
        }
    }
    let said_when = at.is_some();
    let (hour, minute) = at.unwrap_or((DEFAULT_HOUR, 0));
    let dow: Vec<u32> = words.iter().filter_map(|w| weekday(w)).collect();
    let day_of_month = words.iter().find_map(|w| ordinal(w));
    let rest: Vec<&&str> = words
        .iter()
        .filter(|w| weekday(w).is_none() && ordinal(w).is_none())
        .filter(|w| !matches!(**w, "day" | "days" | "daily" | "week" | "weekly" | "month" | "monthly" | "of"))
        .collect();
    let word = |w: &str| words.contains(&w);
    let rest: Vec<&&str> = rest.into_iter().filter(|w| !["hour", "hourly"].contains(*w)).collect();
    match rest.as_slice() {
        [] => {}
        [one] if matches!(**one, "weekday" | "weekdays" | "workday" | "workdays") => {
            return Ok(format!("{minute} {hour} * * 1-5"));
        }
        [one] if matches!(**one, "weekend" | "weekends") => return Ok(format!("{minute} {hour} * * 0,6")),
        [other, ..] => return Err(format!("I could not tell how often from `{other}`")),
    }
    if word("hour") || word("hourly") {
        return Ok(format!("{minute} * * * *"));
    }
    let often = ["day", "days", "daily", "week", "weekly", "month", "monthly"].iter().any(|w| word(w));
    if dow.is_empty() && day_of_month.is_none() && !often && !said_when {
        return Err("every what? Say `every day`, `every monday`, `every weekday` or `every month on the 1st`".into());
    }
    if let Some(d) = day_of_month {
        return Ok(format!("{minute} {hour} {d} * *"));
    }
    if word("month") || word("monthly") {
        return Ok(format!("{minute} {hour} 1 * *"));
    }
    if !dow.is_empty() {
        let days: Vec<String> = dow.iter().map(u32::to_string).collect();
        return Ok(format!("{minute} {hour} * * {}", days.join(",")));
    }
    if word("week") || word("weekly") {
        return Ok(format!("{minute} {hour} * * 1"));
    }
    Ok(format!("{minute} {hour} * * *"))
}

/// "1st", "15th", "31": a day of the month.
fn ordinal(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == ',');
    let suffix = &word[digits.len()..].trim_end_matches(',');
    let ok = matches!(*suffix, "st" | "nd" | "rd" | "th");
    digits.parse::<u32>().ok().filter(|d| ok && (1..=31).contains(d))
}

/// Times of day said by word.
fn part_of_day(word: &str) -> Option<(u32, u32)> {
    Some(match word {
        "morning" | "mornings" => (9, 0),
        "noon" | "midday" | "lunchtime" => (12, 0),
        "afternoon" | "afternoons" => (15, 0),
        "evening" | "evenings" => (18, 0),
        "night" | "nights" | "tonight" => (20, 0),
        "midnight" => (0, 0),
        _ => return None,
    })
}

/// "8", "8am", "8:30", "8.30pm", "20:00", "8 am" (joined before): hour and
/// minute.
fn clock_time(text: &str) -> Result<(u32, u32), String> {
    let t = text.trim().replace(' ', "");
    if let Some(p) = part_of_day(&t) {
        return Ok(p);
    }
    let (body, pm) = match (t.strip_suffix("am"), t.strip_suffix("pm")) {
        (Some(b), _) => (b, Some(false)),
        (_, Some(b)) => (b, Some(true)),
        _ => (t.as_str(), None),
    };
    let (h, m) = match body.split_once([':', '.']) {
        Some((h, m)) => (h, m),
        None => (body, "0"),
    };
    let bad = || format!("`{text}` is not a time of day");
    let (mut h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 23 || (pm.is_some() && !(1..=12).contains(&h)) {
        return Err(bad());
    }
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    Ok((h, m))
}

const NUMBERS: [(&str, &str); 13] = [
    ("a", "1"),
    ("an", "1"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("fifteen", "15"),
];

/// A one-time when, read by `interim` after the words it does not know are
/// put in its terms ("in 2 hours", "at 9", "tomorrow morning", "noon").
fn once(text: &str, now: DateTime<Utc>, tz: Tz) -> Result<DateTime<Utc>, String> {
    let unreadable = || format!("`{text}` is not a time I can read");
    // "tomorrow at": a time does not end waiting for more.
    if matches!(text.split_whitespace().last(), Some("at" | "on" | "in" | "by" | "the" | "of")) {
        return Err(unreadable());
    }
    let mut words: Vec<String> = Vec::new();
    let mut relative = false;
    let mut has_time = false;
    let raw: Vec<&str> = text.split_whitespace().collect();
    let mut i = 0;
    while i < raw.len() {
        let w = raw[i].trim_end_matches(',');
        let next = raw.get(i + 1).map(|n| n.trim_end_matches(','));
        i += 1;
        match w {
            "at" | "on" | "by" | "the" | "of" => {}
            "in" => relative = true,
            "half" if next == Some("an") || next == Some("a") => {
                words.push("30 minutes".into());
                i += 2;
                relative = true;
            }
            "couple" | "few" => {}
            "this" if next.is_some_and(|n| part_of_day(n).is_some()) => words.push("today".into()),
            w if split_unit(w).is_some() => {
                let (n, u) = split_unit(w).unwrap_or_default();
                relative = true;
                has_time |= matches!(unit(u), "s" | "sec" | "m" | "min" | "h" | "hr" | "hrs" | "hou");
                words.push(format!("{n} {u}"));
            }
            "tonight" => {
                words.push("today".into());
                if !raw[i..].iter().any(|w| clock_time(w).is_ok()) {
                    words.push("20:00".into());
                }
                has_time = true;
            }
            w if part_of_day(w).is_some() => {
                let (h, m) = part_of_day(w).unwrap_or_default();
                words.push(format!("{h}:{m:02}"));
                has_time = true;
            }
            w if NUMBERS.iter().any(|(n, _)| *n == w) => {
                let digit = NUMBERS.iter().find(|(n, _)| *n == w).map(|(_, d)| *d).unwrap_or("1");
                // "a couple of hours": two.
                let couple = w == "a" && next == Some("couple");
                words.push(if couple { "2".into() } else { digit.into() });
            }
            w if next.is_some_and(|n| n == "am" || n == "pm") && w.parse::<u32>().is_ok() => {
                let (h, m) = clock_time(&format!("{w}{}", next.unwrap_or_default())).map_err(|_| unreadable())?;
                words.push(format!("{h}:{m:02}"));
                has_time = true;
                i += 1;
            }
            // "24 december": the month first, as `interim` reads it.
            w if w.parse::<u32>().is_ok() && next.is_some_and(is_month) => {
                words.push(next.unwrap_or_default().to_owned());
                words.push(w.to_owned());
                i += 1;
            }
            w if w.parse::<u32>().is_ok() && !next.is_some_and(is_unit) => {
                // A bare hour after "at" ("at 9"), or a day after a month.
                let after_at = i >= 2 && raw[i - 2] == "at";
                let n: u32 = w.parse().unwrap_or_default();
                if after_at || (next.is_none() && n <= 23 && !words.last().is_some_and(|p| is_month(p))) {
                    words.push(format!("{n}:00"));
                    has_time = true;
                } else {
                    words.push(w.to_owned());
                }
            }
            w => {
                if clock_time(w).is_ok() && (w.contains(':') || w.ends_with("am") || w.ends_with("pm")) {
                    let (h, m) = clock_time(w).map_err(|_| unreadable())?;
                    words.push(format!("{h}:{m:02}"));
                    has_time = true;
                } else if w.contains(':') && w.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                    // "25:00": a time of day that is none.
                    return Err(unreadable());
                } else if let Some(d) = ordinal(w) {
                    words.push(d.to_string());
                } else {
                    if is_unit(w) && matches!(unit(w), "sec" | "min" | "hou") {
                        has_time = true;
                    }
                    relative |= is_unit(w);
                    words.push(w.to_owned());
                }
            }
        }
    }
    if words.is_empty() {
        return Err(unreadable());
    }
    let phrase = words.join(" ");
    let local_now = now.with_timezone(&tz);
    let parsed = interim::parse_date_string(&phrase, local_now, interim::Dialect::Uk).map_err(|_| unreadable())?;
    let mut at = parsed;
    if !has_time && !relative {
        // A day with no time of day: 09:00 that day.
        let nine = NaiveTime::from_hms_opt(DEFAULT_HOUR, 0, 0).unwrap_or_default();
        at = tz.from_local_datetime(&at.date_naive().and_time(nine)).earliest().ok_or_else(unreadable)?;
    }
    if at <= local_now {
        // "at 9" said at 10: tomorrow at 9. "15 January" said in December:
        // next year's. Any other time that has passed is refused.
        let only_time = !words.iter().any(|w| w.chars().any(|c| c.is_ascii_alphabetic()) && !is_unit(w));
        let has_year = words.iter().any(|w| w.len() >= 4 && w[..4].chars().all(|c| c.is_ascii_digit()));
        if only_time && at.date_naive() == local_now.date_naive() {
            at += Duration::days(1);
        } else if words.iter().any(|w| is_month(w)) && !has_year {
            at = at.checked_add_months(chrono::Months::new(12)).ok_or_else(unreadable)?;
        } else {
            return Err(format!("`{text}` has passed already"));
        }
    }
    if at.year() > local_now.year() + 5 {
        return Err(format!("`{text}` is too far ahead"));
    }
    Ok(at.with_timezone(&Utc))
}

/// "2h", "30min": a number and a unit in one word.
fn split_unit(w: &str) -> Option<(&str, &str)> {
    let digits = w.find(|c: char| !c.is_ascii_digit())?;
    let (n, u) = w.split_at(digits);
    (!n.is_empty() && is_unit(u)).then_some((n, u))
}

fn unit(w: &str) -> &str {
    w.get(..3).unwrap_or(w)
}

fn is_unit(w: &str) -> bool {
    matches!(
        w,
        "s" | "sec"
            | "secs"
            | "second"
            | "seconds"
            | "m"
            | "min"
            | "mins"
            | "minute"
            | "minutes"
            | "h"
            | "hr"
            | "hrs"
            | "hour"
            | "hours"
            | "d"
            | "day"
            | "days"
            | "w"
            | "week"
            | "weeks"
            | "month"
            | "months"
            | "year"
            | "years"
    )
}

fn is_month(w: &str) -> bool {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    w.len() >= 3 && MONTHS.iter().any(|m| w.starts_with(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every phrasing in the data file reads as it says, or is refused.
    #[test]
    fn reminder_phrasings_read_as_people_mean_them() {
        let data = include_str!("../../tests/data/reminder_phrasings.tsv");
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let local = |s: &str| {
            let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
            tz.from_local_datetime(&t).unwrap().with_timezone(&Utc)
        };
        let now = local("2026-12-02 10:30");
        let (mut checked, mut wrong) = (0, Vec::new());
        for line in data.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "three columns: {line}");
            let (text, task, when) = (cols[0], cols[1], cols[2]);
            checked += 1;
            let got = parse(text, now, tz);
            let expected = match when {
                "error" => None,
                w => Some(Phrase {
                    task: task.to_owned(),
                    when: match w.strip_prefix("every ") {
                        Some(cron) => When::Every(cron.to_owned()),
                        None => When::Once(local(w)),
                    },
                }),
            };
            match (&got, &expected) {
                (Err(why), None) if !why.is_empty() => {}
                (Ok(g), Some(e)) if g == e => {}
                _ => wrong.push(format!("{text:?}: expected {expected:?}, got {got:?}")),
            }
        }
        assert!(checked >= 100, "at least 100 phrasings ({checked})");
        assert!(wrong.is_empty(), "{} of {checked} read wrong:\n{}", wrong.len(), wrong.join("\n"));
    }

    #[test]
    fn only_reminders_are_taken_for_reminders() {
        assert!(is_reminder("Remind me tomorrow to call Bob"));
        assert!(is_reminder("/remind 5pm stretch"));
        assert!(is_reminder("every Monday at 8 remind me to review the pipeline"));
        assert!(is_reminder("please remind me in 2 hours to send the quote"));
        assert!(!is_reminder("what did Bob say about reminders?"));
        assert!(!is_reminder("what did you remind me about yesterday?"));
        assert!(!is_reminder("does Globex remind me of Acme?"));
    }
}
