//! Scheduled digests, from `[[schedules]]` in steward.toml. Each one is a
//! built-in workflow (`crate::workflows::digests`): a cron trigger in the schedule's zone,
//! a `command` trigger (`/run digest-NAME`), and a digest step. The
//! workflow scheduler runs it like any other: each period once, across a
//! restart and a second process, only the latest missed period after
//! downtime (as a catch-up); its run is an intent the policy judges.
//!
//! A digest to a chat, a log or a web address is one `digest.send` step;
//! one by email is `digest.compose` and then an `email.send` of what it
//! composed, so the policy judges it as email.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;

use crate::config::{ScheduleConfig, WhenEmpty};

/// How far back a missed period is looked for.
const LOOKBACK_DAYS: i64 = 400;

/// Where a digest goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Composed, then an `email.send` step (the email adapter's
    /// exactly-once handling, and the policy's judgement, apply).
    Email(String),
    /// Through the outbox: `telegram:…`, `discord:…`, `log:…`.
    Outbox(String),
    /// Through the outbox to a web address, which the policy judges.
    Webhook(String),
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub timing: Timing,
    pub destination: Destination,
    pub when_empty: WhenEmpty,
}

impl Schedule {
    /// The name of the workflow that runs it.
    pub fn workflow_name(&self) -> String {
        format!("digest-{}", self.name.to_ascii_lowercase())
    }

    /// Where it goes, as configured.
    pub fn destination_text(&self) -> String {
        match &self.destination {
            Destination::Email(a) => format!("email:{a}"),
            Destination::Outbox(d) => d.clone(),
            Destination::Webhook(u) => format!("webhook:{u}"),
        }
    }

    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Tz>> {
        self.timing.next_after(t)
    }

    pub fn latest_due(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<(DateTime<Tz>, usize)> {
        self.timing.latest_due(after, now)
    }
}

/// When something recurs: a cron expression in a time zone, whose periods
/// are keyed by their wall-clock time there. Digests and workflows share it.
#[derive(Debug, Clone)]
pub struct Timing {
    pub cron_text: String,
    cron: Cron,
    pub tz: Tz,
}

impl Timing {
    /// Five fields (minute hour day-of-month month day-of-week), or six with
    /// seconds first, in an IANA time zone.
    pub fn parse(cron_text: &str, timezone: &str) -> Result<Self, String> {
        let fields = cron_text.split_whitespace().count();
        let mut cron = Cron::new(cron_text);
        if fields == 6 {
            cron.with_seconds_required();
        } else if fields != 5 {
            return Err(format!("cron `{cron_text}` needs 5 fields (minute hour day month weekday) or 6"));
        }
        let cron = cron.parse().map_err(|e| format!("cron `{cron_text}`: {e}"))?;
        let tz: Tz = timezone
            .parse()
            .map_err(|_| format!("unknown time zone `{timezone}` (use an IANA name such as Europe/Berlin)"))?;
        Ok(Self { cron_text: cron_text.to_owned(), cron, tz })
    }

    /// The first period strictly after `t`, in the zone.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Tz>> {
        self.cron.find_next_occurrence(&t.with_timezone(&self.tz), false).ok()
    }

    /// The latest period in (`after`, `now`], and how many periods that
    /// interval held.
    pub fn latest_due(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<(DateTime<Tz>, usize)> {
        let floor = now - chrono::Duration::days(LOOKBACK_DAYS);
        let mut t = if after < floor { floor } else { after };
        let mut latest = None;
        let mut count = 0;
        while let Some(next) = self.next_after(t) {
            let next_utc = next.with_timezone(&Utc);
            if next_utc > now {
                break;
            }
            count += 1;
            latest = Some(next);
            t = next_utc;
        }
        latest.map(|p| (p, count))
    }

    /// A period's key: its wall-clock time in the zone. When clocks go back
    /// the same wall-clock time occurs twice; it is still one period.
    pub fn period_key(period: &DateTime<Tz>) -> String {
        period.naive_local().format("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

/// Which destinations this configuration can deliver to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Available {
    pub email: bool,
    pub telegram: bool,
    pub discord: bool,
}

impl Available {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            email: config.email.host.is_some() && config.email.from.is_some(),
            telegram: config.telegram.token.is_some(),
            discord: config.discord.token.is_some(),
        }
    }
}

/// Parses and checks the configured schedules against what is `available`
/// (an email destination needs the email adapter, a chat one its channel).
pub fn parse(configs: &[ScheduleConfig], available: &Available) -> Result<Vec<Schedule>, String> {
    let mut out: Vec<Schedule> = Vec::new();
    for c in configs {
        let err = |why: String| format!("schedule `{}`: {why}", c.name);
        if c.name.is_empty() || !c.name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') {
            return Err(err("the name must be letters, digits, `-` or `_`".into()));
        }
        if out.iter().any(|s| s.name.eq_ignore_ascii_case(&c.name)) {
            return Err(err("defined twice".into()));
        }
        let timing = Timing::parse(&c.cron, &c.timezone).map_err(err)?;
        let destination = match c.destination.split_once(':') {
            Some(("email", addr)) if addr.contains('@') => {
                if !available.email {
                    return Err(err(
                        "an email destination needs the email adapter (set email.host and email.from)".into()
                    ));
                }
                Destination::Email(addr.to_owned())
            }
            Some((channel @ ("telegram" | "discord"), id)) => {
                let on = if channel == "telegram" { available.telegram } else { available.discord };
                if !on {
                    return Err(err(format!(
                        "a {channel} destination needs the {channel} channel (set {channel}.token)"
                    )));
                }
                if id.trim_start_matches('-').parse::<i64>().is_err() {
                    return Err(err(format!(
                        "`{}` must name a {channel} chat or channel by its numeric id",
                        c.destination
                    )));
                }
                Destination::Outbox(c.destination.clone())
            }
            Some(("webhook", url)) if matches!(reqwest::Url::parse(url), Ok(u) if matches!(u.scheme(), "http" | "https")) => {
                Destination::Webhook(url.to_owned())
            }
            Some(("log", rest)) if !rest.is_empty() => Destination::Outbox(c.destination.clone()),
            _ => {
                return Err(err(format!(
                    "destination `{}` must be email:ADDRESS, telegram:CHAT_ID, discord:CHANNEL_ID, webhook:URL or log:NAME",
                    c.destination
                )));
            }
        };
        out.push(Schedule { name: c.name.clone(), timing, destination, when_empty: c.when_empty });
    }
    Ok(out)
}

/// Calls `tick` whenever something is due until `shutdown`: at the next
/// due time on the clock (`next_due`; one already past, such as a period
/// waiting for the last run to end, after a second of real time), or at
/// least every 30 s of real time,
/// so a changed clock or a reloaded file is noticed, and whenever `nudge`
/// is notified (something new to schedule). When `tick` queued something,
/// `wake` wakes whoever delivers it.
pub async fn keep_ticking<F, Fut>(
    clock: &dyn crate::domain::Clock,
    what: &str,
    shutdown: tokio_util::sync::CancellationToken,
    mut tick: F,
    next_due: impl Fn(DateTime<Utc>) -> Option<crate::domain::Millis>,
    wake: impl Fn(),
    nudge: std::sync::Arc<tokio::sync::Notify>,
) where
    F: FnMut(DateTime<Utc>) -> Fut,
    Fut: std::future::Future<Output = Result<bool, crate::store::StoreError>>,
{
    loop {
        let now = utc(clock.now());
        match tick(now).await {
            Ok(true) => wake(),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "{what} failed; will retry"),
        }
        let (pause, poll) = (std::time::Duration::from_secs(1), std::time::Duration::from_secs(30));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = nudge.notified() => {}
            _ = crate::domain::idle(clock, next_due(now), pause, poll) => {}
        }
    }
}

/// `ms` as a UTC time.
pub fn utc(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(cron: &str, tz: &str) -> Schedule {
        let c = ScheduleConfig {
            name: "s".into(),
            cron: cron.into(),
            timezone: tz.into(),
            destination: "log:digest".into(),
            when_empty: WhenEmpty::Skip,
        };
        parse(&[c], &Available::default()).unwrap().remove(0)
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn periods_follow_the_zone_across_dst() {
        let s = schedule("30 2 * * *", "Europe/Berlin");
        // 2026-03-29: clocks jump from 02:00 to 03:00; 02:30 does not exist
        // that night, and the day still gets exactly one period.
        let (p, n) = s.latest_due(t("2026-03-28T12:00:00Z"), t("2026-03-29T12:00:00Z")).unwrap();
        assert_eq!(n, 1);
        assert_eq!(p.with_timezone(&Utc).date_naive().to_string(), "2026-03-29");
        // 2026-10-25: 02:30 happens twice; it is one period by its key.
        let (first, _) = s.latest_due(t("2026-10-24T12:00:00Z"), t("2026-10-25T00:45:00Z")).unwrap();
        let again = s.latest_due(first.with_timezone(&Utc), t("2026-10-25T01:45:00Z"));
        let keys: Vec<String> = [Some(first), again.map(|(p, _)| p)].iter().flatten().map(Timing::period_key).collect();
        assert!(keys.iter().all(|k| k == "2026-10-25T02:30:00"), "{keys:?}");
        // A morning digest at 08:00 Berlin is 07:00 UTC in winter, 06:00 in summer.
        let m = schedule("0 8 * * *", "Europe/Berlin");
        assert_eq!(m.next_after(t("2026-01-10T00:00:00Z")).unwrap().with_timezone(&Utc), t("2026-01-10T07:00:00Z"));
        assert_eq!(m.next_after(t("2026-07-10T00:00:00Z")).unwrap().with_timezone(&Utc), t("2026-07-10T06:00:00Z"));
    }

    #[test]
    fn downtime_yields_the_latest_period_and_how_many_were_missed() {
        let s = schedule("0 * * * *", "UTC");
        let (p, n) = s.latest_due(t("2026-11-25T01:30:00Z"), t("2026-11-25T05:10:00Z")).unwrap();
        assert_eq!((p.with_timezone(&Utc), n), (t("2026-11-25T05:00:00Z"), 4));
        assert!(s.latest_due(t("2026-11-25T05:00:00Z"), t("2026-11-25T05:59:59Z")).is_none());
    }

    #[test]
    fn bad_schedules_are_refused_with_their_name() {
        let bad = |cron: &str, tz: &str, dest: &str| {
            let c = ScheduleConfig {
                name: "x".into(),
                cron: cron.into(),
                timezone: tz.into(),
                destination: dest.into(),
                when_empty: WhenEmpty::Skip,
            };
            parse(&[c], &Available::default()).unwrap_err()
        };
        assert!(bad("0 8 * *", "UTC", "log:x").contains("5 fields"));
        assert!(bad("0 25 * * *", "UTC", "log:x").starts_with("schedule `x`: cron"));
        assert!(bad("0 8 * * *", "Mars/Olympus", "log:x").contains("time zone"));
        assert!(bad("0 8 * * *", "UTC", "pigeon:home").contains("destination"));
        assert!(bad("0 8 * * *", "UTC", "telegram:42").contains("telegram.token"));
        assert!(bad("0 8 * * *", "UTC", "email:me@example.com").contains("email.host"));
    }
}
