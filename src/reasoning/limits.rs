//! Rate limits for everyone who is not the operator: so many messages per
//! identity in a sliding window. The first message past the limit gets one
//! polite refusal (audited); the rest of the burst is dropped without a
//! reply, so a flood cannot make steward flood back. The operator is never
//! limited.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Over the limit: refuse once, politely.
    Refuse,
    /// Still over the limit, already told: drop it silently.
    Drop,
}

/// Per-identity sliding windows.
#[derive(Debug)]
pub struct Limiter {
    limit: usize,
    window: Duration,
    seen: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Default)]
struct Window {
    /// When each allowed message in the window arrived, oldest first.
    allowed: VecDeque<Instant>,
    /// Whether this burst was already refused.
    told: bool,
}

/// Identities remembered at most; past it, the idle ones are forgotten.
const MAX_IDENTITIES: usize = 10_000;

impl Limiter {
    /// `limit` messages per `window`; a limit of 0 turns limiting off.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit: limit as usize, window, seen: Mutex::default() }
    }

    pub fn check(&self, identity: &str, now: Instant) -> Verdict {
        if self.limit == 0 {
            return Verdict::Allow;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MAX_IDENTITIES && !seen.contains_key(identity) {
            let window = self.window;
            seen.retain(|_, w| w.allowed.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let w = seen.entry(identity.to_owned()).or_default();
        while w.allowed.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            w.allowed.pop_front();
        }
        if w.allowed.len() < self.limit {
            w.allowed.push_back(now);
            w.told = false;
            return Verdict::Allow;
        }
        if std::mem::replace(&mut w.told, true) { Verdict::Drop } else { Verdict::Refuse }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_one_refusal_then_silence_until_the_window_frees() {
        let l = Limiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(l.check("discord:9", t0 + Duration::from_secs(i)), Verdict::Allow);
        }
        assert_eq!(l.check("discord:9", t0 + Duration::from_secs(4)), Verdict::Refuse);
        assert_eq!(l.check("discord:9", t0 + Duration::from_secs(5)), Verdict::Drop);
        assert_eq!(l.check("discord:9", t0 + Duration::from_secs(6)), Verdict::Drop);
        assert_eq!(l.check("telegram:1", t0 + Duration::from_secs(6)), Verdict::Allow, "per identity");
        let later = t0 + Duration::from_millis(60_500);
        assert_eq!(l.check("discord:9", later), Verdict::Allow, "the first one left the window");
        assert_eq!(l.check("discord:9", later), Verdict::Refuse, "a new burst is told again");
        assert_eq!(Limiter::new(0, Duration::from_secs(60)).check("x", t0), Verdict::Allow, "0 turns it off");
    }
}
