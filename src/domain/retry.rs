//! Retry policy as data: exponential backoff with full jitter and a cap on
//! attempts. Each adapter has its own, from the config.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// The backoff ceiling before the first retry.
    pub initial_ms: u64,
    /// The ceiling grows by this factor per attempt...
    pub multiplier: f64,
    /// ...up to this.
    pub max_ms: u64,
    /// Attempts in all, the first included; then the step fails for good.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { initial_ms: 500, multiplier: 2.0, max_ms: 60_000, max_attempts: 6 }
    }
}

impl RetryPolicy {
    /// Whether another attempt is allowed after `attempts` have been made.
    pub fn allows_another(&self, attempts: u32) -> bool {
        attempts < self.max_attempts
    }

    /// The wait before the next attempt, after `attempts` attempts: "full
    /// jitter", a uniform draw in `[0, min(max, initial * multiplier^(n-1))]`,
    /// so retries of many steps spread out instead of arriving together.
    /// `unit` is a random number in `[0, 1)`, passed in so this stays pure.
    pub fn backoff(&self, attempts: u32, unit: f64) -> Duration {
        let exp = self.multiplier.powi(attempts.saturating_sub(1).min(64) as i32);
        let ceiling = (self.initial_ms as f64 * exp).min(self.max_ms as f64);
        Duration::from_millis((ceiling * unit.clamp(0.0, 1.0)) as u64)
    }

    /// The wait when the other side named one (`Retry-After`), never less
    /// than it asked and never more than the policy's ceiling... unless it
    /// asked for more, which is honoured.
    pub fn backoff_at_least(&self, attempts: u32, unit: f64, asked: Duration) -> Duration {
        self.backoff(attempts, unit).max(asked)
    }
}

/// The longest wait a `Retry-After` may ask for; a longer one is cut to
/// this, so a hostile or broken server cannot park a step for years.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);

/// Reads a `Retry-After` value: delta-seconds (a fraction is accepted, as
/// some servers send one) or an HTTP date, relative to `now` (ms since the
/// epoch). Anything else (negative, NaN, infinite, garbage, a date in the
/// past) is `None`, and the caller falls back to its retry policy. Never
/// panics, whatever the input.
pub fn parse_retry_after(value: &str, now: i64) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || value.len() > 64 {
        return None;
    }
    if let Ok(secs) = value.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        return Some(Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?.timestamp_millis();
    let wait = at.checked_sub(now).filter(|w| *w >= 0)?;
    Some(Duration::from_millis(wait as u64).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_values_from_outside_are_read_defensively() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 1.5 ", now), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("999999999999", now), Some(MAX_RETRY_AFTER));
        for bad in ["NaN", "nan", "inf", "-infinity", "-1", "", "soon", "1e400", "0x10", &"9".repeat(100)] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
        // 2023-11-14T22:13:20Z is `now`; ten seconds later:
        assert_eq!(parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Tue, 14 Nov 2023 22:13:10 GMT", now), None, "a date in the past");
    }

    #[test]
    fn backoff_grows_exponentially_under_a_cap_with_full_jitter() {
        let p = RetryPolicy { initial_ms: 100, multiplier: 2.0, max_ms: 1_000, max_attempts: 5 };
        assert_eq!(p.backoff(1, 0.999_999), Duration::from_millis(99));
        assert_eq!(p.backoff(3, 0.999_999), Duration::from_millis(399));
        assert_eq!(p.backoff(30, 0.999_999), Duration::from_millis(999), "capped");
        assert_eq!(p.backoff(3, 0.0), Duration::ZERO, "full jitter reaches zero");
        assert_eq!(p.backoff_at_least(1, 0.0, Duration::from_secs(7)), Duration::from_secs(7));
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy { max_attempts: 3, ..Default::default() };
        assert!(p.allows_another(2));
        assert!(!p.allows_another(3));
    }
}
