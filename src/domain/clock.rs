//! Where steward's time comes from. Everything that stamps, schedules or
//! expires (the orchestrator's timers, approval expiry, re-pings and
//! escalation, schedules, retention) reads a [`Clock`] and waits on it, so a
//! test drives time with a [`ManualClock`] instead of sleeping.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Millis;

/// A source of time, shared by every component of one server.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> Millis;

    /// Waits until `wait` has passed on this clock.
    fn sleep(&self, wait: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The clock components share.
pub type SharedClock = Arc<dyn Clock>;

/// How an idle worker waits: until its next timer (`next`, clock time) is
/// due, but never longer than `poll` of real time, which is how it notices
/// work no one announced (a second process's writes); and, when a timer is
/// due already, a `pause` of real time first, so a due timer it cannot take
/// yet (its capacity is full) never spins it.
pub async fn idle(clock: &dyn Clock, next: Option<Millis>, pause: Duration, poll: Duration) {
    let timer = async {
        match next {
            Some(at) if at <= clock.now() => tokio::time::sleep(pause).await,
            Some(at) => clock.sleep(Duration::from_millis(at.saturating_sub(clock.now()).max(0) as u64)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = timer => {}
        _ = tokio::time::sleep(poll) => {}
    }
}

/// The system's wall clock; waits are real.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl SystemClock {
    pub fn shared() -> SharedClock {
        Arc::new(Self)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        chrono::Utc::now().timestamp_millis()
    }

    fn sleep(&self, wait: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told. A wait on it ends when the clock is
/// moved past its end, however much real time passes.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<Millis>,
}

impl ManualClock {
    /// A clock reading `at`.
    pub fn at(at: Millis) -> Arc<Self> {
        Arc::new(Self { now: watch::Sender::new(at) })
    }

    /// Moves the clock forward by `by`, waking every wait that ends by then.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.now.send_modify(|now| *now = now.saturating_add(by));
    }

    /// Sets the clock; it never goes back.
    pub fn set(&self, at: Millis) {
        self.now.send_modify(|now| *now = (*now).max(at));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        *self.now.borrow()
    }

    fn sleep(&self, wait: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let until = self.now().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
        let mut moved = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock, which outlives this wait.
            let _ = moved.wait_for(|now| *now >= until).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_idle_worker_wakes_for_its_timer_on_the_clock_or_its_real_poll() {
        let clock = ManualClock::at(0);
        let ms = Duration::from_millis;
        let waited = |next| {
            let clock = clock.clone();
            async move { tokio::time::timeout(ms(200), idle(&*clock, next, ms(1), ms(5_000))).await.is_ok() }
        };
        assert!(waited(Some(0)).await, "a due timer: a pause, then on");
        assert!(!waited(Some(60_000)).await, "a timer a minute away on the clock waits for the clock");
        let poll = tokio::time::timeout(ms(2_000), idle(&*clock, Some(60_000), ms(1), ms(10)));
        assert!(poll.await.is_ok(), "the real poll still comes");
        let far = tokio::spawn({
            let clock = clock.clone();
            async move { idle(&*clock, Some(60_000), ms(1), ms(60_000)).await }
        });
        tokio::time::sleep(ms(20)).await;
        clock.advance(ms(60_000));
        tokio::time::timeout(ms(2_000), far).await.expect("moving the clock wakes it").unwrap();
    }

    #[tokio::test]
    async fn a_manual_wait_ends_when_the_clock_is_moved_past_it() {
        let clock = ManualClock::at(1_000);
        let mut wait = clock.sleep(Duration::from_secs(60));
        assert!(tokio::time::timeout(Duration::from_millis(20), &mut wait).await.is_err(), "time stands still");
        clock.advance(Duration::from_secs(59));
        assert!(tokio::time::timeout(Duration::from_millis(20), &mut wait).await.is_err(), "not yet");
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), wait).await.expect("moved past its end");
        assert_eq!(clock.now(), 61_000);
        clock.set(0);
        assert_eq!(clock.now(), 61_000, "never back");
    }
}
