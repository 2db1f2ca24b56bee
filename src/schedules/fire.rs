//! Firing a period: build the digest, and in one transaction record the run
//! and queue what delivers it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::json;
use sqlx::SqliteConnection;

use super::{Destination, GRACE_MS, Schedule, Timing};
use crate::config::WhenEmpty;
use crate::digest::{self, render};
use crate::domain::{DigestMessage, Intent, IntentId, IntentText, Millis, Outbound, Plan, PlannedStep, Provenance};
use crate::store::{Store, StoreError, intents, outbox};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Firing {
    /// Queued for delivery: as an intent (email) or an outbox message.
    Sent { intent_id: Option<IntentId> },
    /// Nothing happened and the schedule skips empty digests.
    Skipped,
    /// This period had fired already (another process, or before a crash).
    AlreadyFired,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fired {
    pub schedule: String,
    pub period: String,
    pub catch_up: bool,
    pub outcome: Firing,
}

async fn first_seen(store: &Store, name: &str, now: Millis) -> Result<Millis, StoreError> {
    let mut tx = store.begin().await?;
    sqlx::query("INSERT INTO schedules (name, first_seen) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let seen: Millis =
        sqlx::query_scalar("SELECT first_seen FROM schedules WHERE name = ?").bind(name).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(seen)
}

/// The latest period that fired (manual sends aside), and the latest run of
/// any kind (the next digest covers what happened since).
async fn last_runs(store: &Store, name: &str) -> Result<(Option<Millis>, Option<Millis>), StoreError> {
    Ok(sqlx::query_as(
        "SELECT MAX(CASE WHEN outcome <> 'manual' THEN period_at END), MAX(fired_at) FROM schedule_runs WHERE schedule = ?",
    )
    .bind(name)
    .fetch_one(store.reader())
    .await?)
}

/// Fires every schedule whose period came due since it last fired: the
/// latest such period only, as a catch-up when it is late or others were
/// missed. A schedule seen for the first time starts from now.
pub async fn tick(store: &Store, schedules: &[Schedule], now: DateTime<Utc>) -> Result<Vec<Fired>, StoreError> {
    let now_ms = now.timestamp_millis();
    let mut fired = Vec::new();
    for s in schedules {
        let seen = first_seen(store, &s.name, now_ms).await?;
        let (last, _) = last_runs(store, &s.name).await?;
        let after = super::utc(last.unwrap_or(seen).max(seen));
        if let Some((period, missed)) = s.latest_due(after, now) {
            let late = now_ms - period.timestamp_millis() > GRACE_MS;
            fired.push(fire(store, s, Some(period), missed > 1 || late, now).await?);
        }
    }
    Ok(fired)
}

/// Fires one period (or, with `None`, a manual send now).
pub async fn fire(
    store: &Store,
    s: &Schedule,
    period: Option<DateTime<Tz>>,
    catch_up: bool,
    now: DateTime<Utc>,
) -> Result<Fired, StoreError> {
    let now_ms = now.timestamp_millis();
    let (key, period_at, manual) = match &period {
        Some(p) => (Timing::period_key(p), p.timestamp_millis(), false),
        None => (format!("manual-{}", now.format("%Y-%m-%dT%H:%M:%S%.3fZ")), now_ms, true),
    };
    let (_, previous) = last_runs(store, &s.name).await?;
    let since = previous.unwrap_or(now_ms - DAY_MS);
    let d = digest::build(store, &s.name, since, now_ms, catch_up).await?;
    let skip = d.is_empty() && s.when_empty == WhenEmpty::Skip && !manual;
    let outcome_name = if manual {
        "manual"
    } else if skip {
        "skipped"
    } else {
        "sent"
    };
    let mut tx = store.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO schedule_runs (schedule, period, period_at, fired_at, catch_up, outcome, destination)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (schedule, period) DO NOTHING",
    )
    .bind(&s.name)
    .bind(&key)
    .bind(period_at)
    .bind(now_ms)
    .bind(catch_up)
    .bind(outcome_name)
    .bind(match &s.destination {
        Destination::Email(a) => format!("email:{a}"),
        Destination::Outbox(d) => d.clone(),
    })
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let mut fired = Fired { schedule: s.name.clone(), period: key.clone(), catch_up, outcome: Firing::AlreadyFired };
    if inserted == 0 {
        return Ok(fired);
    }
    fired.outcome = if skip { Firing::Skipped } else { deliver(&mut tx, s, &d, &key, now_ms).await? };
    tx.commit().await?;
    tracing::info!(schedule = %s.name, period = %key, catch_up, outcome = outcome_name, "schedule fired");
    Ok(fired)
}

async fn deliver(
    conn: &mut SqliteConnection,
    s: &Schedule,
    d: &digest::Digest,
    key: &str,
    now: Millis,
) -> Result<Firing, StoreError> {
    let tz = s.timing.tz;
    let text = if d.is_empty() { render::one_line(d, tz) } else { render::text(d, tz) };
    let subject = format!("{}{}", if d.catch_up { "[catch-up] " } else { "" }, render::heading(d, tz));
    match &s.destination {
        Destination::Email(to) => {
            let args = json!({"to": to, "subject": subject, "text": text, "html": render::html(d, tz)});
            let step = PlannedStep::parse("email", "send", args).map_err(|e| StoreError::corrupt("schedule", e))?;
            let plan = Plan::new(vec![step]).map_err(|e| StoreError::corrupt("schedule", e))?;
            let mut provenance = Provenance::operator("schedule", "scheduler");
            provenance.agent = "scheduler".into();
            provenance.reason = Some(format!("schedule {} for {key}", s.name));
            let what = IntentText::parse(format!("Send the {} digest for {key} to {to}", s.name))
                .map_err(|e| StoreError::corrupt("schedule", e))?;
            let intent = Intent::new(what, provenance, Some(plan), now);
            intents::insert(conn, &intent).await?;
            sqlx::query("UPDATE schedule_runs SET intent_id = ? WHERE schedule = ? AND period = ?")
                .bind(intent.id.to_string())
                .bind(&s.name)
                .bind(key)
                .execute(&mut *conn)
                .await?;
            Ok(Firing::Sent { intent_id: Some(intent.id) })
        }
        Destination::Outbox(destination) => {
            let payload = Outbound::Digest(DigestMessage {
                schedule: s.name.clone(),
                period: key.to_owned(),
                catch_up: d.catch_up,
                subject,
                telegram_html: if d.is_empty() { render::escape(&text) } else { render::telegram(d, tz) },
                text,
                discord_embed: render::discord(d, tz),
            });
            outbox::enqueue(conn, destination, &payload, Some(&format!("digest:{}:{key}", s.name)), now).await?;
            Ok(Firing::Sent { intent_id: None })
        }
    }
}
