//! Repeating reminders ("every monday at 8", "every weekday", "every
//! month on the 1st"), as five-field cron expressions.

use super::words::{DEFAULT_HOUR, clock_time, ordinal, part_of_day};

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
pub(super) fn every(text: &str) -> Result<String, String> {
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
