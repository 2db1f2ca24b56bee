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

#[cfg(test)]
mod tests {
    use super::*;

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
