//! The reminder phrasings in the data file, and what is taken for one.

use super::*;
use chrono::TimeZone;

/// Every phrasing in the data file reads as it says, or is refused.
#[test]
fn reminder_phrasings_read_as_people_mean_them() {
    let data = include_str!("../../../tests/data/reminder_phrasings.tsv");
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
    assert!(is_reminder("set a reminder for thursday to call Bob"));
    assert!(is_reminder("Reminder: call Bob at 5"));
    assert!(is_reminder("ping me tomorrow at noon about the review"));
    assert!(!is_reminder("ping me when the deploy is done"), "no time: a request to act");
    assert!(!is_reminder("reminders are useful"));
    assert!(!is_reminder("message me the Acme numbers"));
}

/// A letter whose lower case is longer (İ) or shorter (ẞ) than itself
/// keeps the task's own words whole.
#[test]
fn a_task_keeps_its_words_whatever_their_case() {
    let tz: Tz = "UTC".parse().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
    for task in ["call the İstanbul office", "pay STRAẞE 5", "send ΣΙΣΥΦΟΣ the quote"] {
        for text in [format!("remind me tomorrow at 9 to {task}"), format!("remind me to {task} tomorrow at 9")] {
            let p = parse(&text, now, tz).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(p.task, task, "{text}");
        }
    }
}
