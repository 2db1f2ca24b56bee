//! The words of times both kinds of reminder share: times of day, days of
//! the month, units and months.

/// When nothing says what time of day: 09:00.
pub(super) const DEFAULT_HOUR: u32 = 9;

/// "1st", "15th", "31": a day of the month.
pub(super) fn ordinal(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == ',');
    let suffix = &word[digits.len()..].trim_end_matches(',');
    let ok = matches!(*suffix, "st" | "nd" | "rd" | "th");
    digits.parse::<u32>().ok().filter(|d| ok && (1..=31).contains(d))
}

/// Times of day said by word.
pub(super) fn part_of_day(word: &str) -> Option<(u32, u32)> {
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
pub(super) fn clock_time(text: &str) -> Result<(u32, u32), String> {
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

/// "2h", "30min": a number and a unit in one word.
pub(super) fn split_unit(w: &str) -> Option<(&str, &str)> {
    let digits = w.find(|c: char| !c.is_ascii_digit())?;
    let (n, u) = w.split_at(digits);
    (!n.is_empty() && is_unit(u)).then_some((n, u))
}

pub(super) fn unit(w: &str) -> &str {
    w.get(..3).unwrap_or(w)
}

pub(super) fn is_unit(w: &str) -> bool {
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

pub(super) fn is_month(w: &str) -> bool {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    w.len() >= 3 && MONTHS.iter().any(|m| w.starts_with(m))
}
