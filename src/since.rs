//! `--since`: a time (RFC 3339), a date (UTC midnight) or how long ago
//! (`7d`, `12h`, `2w`, `90m`), read defensively: a bad value is a usage
//! error that says what is accepted.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// When a `--since` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    At(DateTime<Utc>),
    Ago(Duration),
}

impl Since {
    /// The time it names, `now` being now.
    pub fn resolve(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::At(t) => t,
            Self::Ago(d) => now - d,
        }
    }
}

/// The longest look back a duration may ask for.
const MAX_DAYS: i64 = 36_600;

pub fn parse(text: &str) -> Result<Since, String> {
    let t = text.trim();
    let usage = || {
        format!("`{text}`: give a time (2026-11-01T09:00:00Z), a date (2026-11-01) or how long ago (7d, 12h, 2w, 90m)")
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(Since::At(at.with_timezone(&Utc)));
    }
    if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return day.and_hms_opt(0, 0, 0).map(|d| Since::At(d.and_utc())).ok_or_else(usage);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(usage)?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| usage())?;
    let minutes = match unit.trim() {
        "m" | "min" | "mins" | "minutes" => 1,
        "h" | "hour" | "hours" => 60,
        "d" | "day" | "days" => 24 * 60,
        "w" | "week" | "weeks" => 7 * 24 * 60,
        _ => return Err(usage()),
    };
    if n <= 0 || n.saturating_mul(minutes) > MAX_DAYS * 24 * 60 {
        return Err(format!("`{text}`: a look back of at least 1 minute and at most {MAX_DAYS} days"));
    }
    Ok(Since::Ago(Duration::minutes(n * minutes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_dates_and_durations_are_read_and_nonsense_is_refused() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z").unwrap().with_timezone(&Utc);
        let at = |s: &str| parse(s).map(|w| w.resolve(now).to_rfc3339());
        assert_eq!(at("7d").unwrap(), "2026-11-30T12:00:00+00:00");
        assert_eq!(at("12h").unwrap(), "2026-12-07T00:00:00+00:00");
        assert_eq!(at("2w").unwrap(), "2026-11-23T12:00:00+00:00");
        assert_eq!(at("90m").unwrap(), "2026-12-07T10:30:00+00:00");
        assert_eq!(at("2026-11-01").unwrap(), "2026-11-01T00:00:00+00:00");
        assert_eq!(at("2026-11-01T09:00:00+01:00").unwrap(), "2026-11-01T08:00:00+00:00");
        for bad in ["", "7", "d", "7y", "-7d", "0d", "99999999999999999999d", "9999999d", "2026-13-01", "seven days"] {
            assert!(parse(bad).is_err(), "{bad:?} is refused");
        }
    }
}
