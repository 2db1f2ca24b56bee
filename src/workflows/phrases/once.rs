//! One-time reminders ("in 2 hours", "tomorrow at 9", "on 24 december"),
//! read by `interim` once the words it does not know are put in its terms.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::words::{DEFAULT_HOUR, clock_time, is_month, is_unit, ordinal, part_of_day, split_unit, unit};

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
pub(super) fn once(text: &str, now: DateTime<Utc>, tz: Tz) -> Result<DateTime<Utc>, String> {
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
