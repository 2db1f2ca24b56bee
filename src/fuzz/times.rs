//! Times read from outside: cron expressions and zones from the config,
//! and reminders as people write them.

use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use super::outcome;

/// Cron expressions and time zones from the config never panic.
pub(super) fn cron(runner: &mut TestRunner) -> Result<(), String> {
    let field = prop_oneof![
        Just("*".to_owned()),
        "[0-9]{1,3}",
        "[0-9]{1,2}-[0-9]{1,2}",
        "\\*/[0-9]{1,3}",
        "[0-9,LW#?/-]{1,6}",
        prop::sample::select(vec!["MON", "sun", "JAN", "L", "5L", "1#5", "?"]).prop_map(str::to_owned),
    ];
    let expr = prop_oneof![prop::collection::vec(field, 4..8).prop_map(|f| f.join(" ")), ".{0,30}"];
    let zone = prop_oneof![Just("UTC".to_owned()), Just("Europe/Berlin".to_owned()), ".{0,12}"];
    let available = crate::schedules::Available { email: true, telegram: true, discord: true };
    outcome(runner.run(&(expr, zone), |(cron, timezone)| {
        let config = crate::config::ScheduleConfig {
            name: "fuzz".into(),
            cron,
            timezone,
            destination: "telegram:42".into(),
            when_empty: crate::config::WhenEmpty::Skip,
        };
        if let Ok(schedules) = crate::schedules::parse(&[config], &available) {
            let now = chrono::Utc::now();
            for s in schedules {
                let _ = s.next_after(now);
                let _ = s.latest_due(now - chrono::Duration::days(3), now);
            }
        }
        Ok(())
    }))
}

/// Reminder phrasings never panic: a reminder read from any words is in
/// the future, or repeats on a cron expression steward can read, and keeps
/// a task of bounded length.
pub(super) fn reminders(runner: &mut TestRunner) -> Result<(), String> {
    use crate::workflows::phrases::{self, When};
    let word = prop_oneof![
        prop::sample::select(vec![
            "remind",
            "me",
            "to",
            "at",
            "in",
            "on",
            "every",
            "tomorrow",
            "tonight",
            "monday",
            "friday",
            "weekday",
            "month",
            "the",
            "1st",
            "31st",
            "9",
            "9am",
            "12pm",
            "23:59",
            "25:00",
            "0",
            "hours",
            "minutes",
            "days",
            "an",
            "half",
            "a",
            "morning",
            "noon",
            "december",
            "2026-13-40",
            "2027-01-01",
            "/remind",
            "and",
        ])
        .prop_map(str::to_owned),
        "[a-z0-9:./-]{1,8}",
        ".{0,4}",
    ];
    let text = prop::collection::vec(word, 0..12).prop_map(|w| w.join(" "));
    let zone = prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati"]);
    outcome(runner.run(&(text, zone, 0i64..4_000_000_000), |(text, zone, secs)| {
        let tz: chrono_tz::Tz = zone.parse().map_err(|_| TestCaseError::fail("zone"))?;
        let now = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
        if let Ok(p) = phrases::parse(&text, now, tz) {
            prop_assert!(!p.task.is_empty() && p.task.chars().count() <= phrases::MAX_TASK);
            match p.when {
                When::Once(at) => prop_assert!(at > now, "{text:?} at {now}: {at} is not ahead"),
                When::Every(cron) => prop_assert!(
                    crate::schedules::Timing::parse(&cron, zone).is_ok(),
                    "{text:?}: `{cron}` does not read"
                ),
            }
        }
        Ok(())
    }))
}
