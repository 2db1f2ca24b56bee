//! How workflow runs go on after their first part: where each run is
//! (`workflow_runs`' cursor, current intent, results and waits), the runs
//! that can move now, deliveries to runs waiting for an event, and the
//! workflow versions runs started with (`workflow_versions`).

use sqlx::{Row, SqliteConnection, SqlitePool};

use super::StoreError;
use crate::domain::{IntentId, IntentState, Millis};

/// Where a run is after its current part: what runs now, what it waits
/// for, and what every step so far gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// The next step of the file to render; `None` once the run ended.
    pub cursor: Option<usize>,
    /// The intent running now.
    pub current: Option<IntentId>,
    /// The file's ids of the current intent's steps, in order.
    pub step_ids: Vec<String>,
    /// What each step so far gave, by id.
    pub results: serde_json::Map<String, serde_json::Value>,
    /// When the run goes on by itself: a wait's end, a `wait_for`'s timeout.
    pub resume_at: Option<Millis>,
    pub wait: Option<Waiting>,
    /// How it ended, once it has.
    pub ended: Option<String>,
}

/// The event a `wait_for` step waits for.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub step: String,
    /// The workflow whose webhook delivers it.
    pub source: String,
    /// The correlation the delivery must have.
    pub key: String,
}

/// Writes a run's progress. With `expect` (its cursor and current intent
/// as read), only if they are still so, and says whether it wrote: two
/// processes never both take the same next part.
pub async fn progress(
    conn: &mut SqliteConnection,
    key: &str,
    p: &Progress,
    expect: Option<(usize, Option<IntentId>)>,
) -> Result<bool, StoreError> {
    let (cursor, current) = match expect {
        Some((c, i)) => (Some(c as i64), i.map(|i| i.to_string())),
        None => (None, None),
    };
    let done = sqlx::query(
        "UPDATE workflow_runs SET cursor = ?1, current = coalesce(?2, current), step_ids = ?3, results = ?4,
                resume_at = ?5, wait_step = ?6, wait_source = ?7, wait_key = ?8, ended = ?9
         WHERE key = ?10 AND (NOT ?11 OR (cursor IS ?12 AND current IS ?13))",
    )
    .bind(p.cursor.map(|c| c as i64))
    .bind(p.current.map(|i| i.to_string()))
    .bind(serde_json::to_string(&p.step_ids).unwrap_or_default())
    .bind(serde_json::Value::Object(p.results.clone()).to_string())
    .bind(p.resume_at)
    .bind(p.wait.as_ref().map(|w| &w.step))
    .bind(p.wait.as_ref().map(|w| &w.source))
    .bind(p.wait.as_ref().map(|w| &w.key))
    .bind(&p.ended)
    .bind(key)
    .bind(expect.is_some())
    .bind(cursor)
    .bind(current)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A run that can go on now, as read.
#[derive(Debug, Clone)]
pub struct Going {
    pub key: String,
    pub workflow: String,
    pub version: String,
    pub trigger: String,
    pub actor: String,
    pub args: serde_json::Value,
    pub cause: serde_json::Value,
    pub catch_up: bool,
    pub progress: Progress,
    /// The current intent's state.
    pub state: Option<IntentState>,
}

/// Runs that can go on at `now`: their current intent ended, a wait is
/// over, or a `wait_for` got its event or timed out.
pub async fn going(pool: &SqlitePool, now: Millis, limit: u32) -> Result<Vec<Going>, StoreError> {
    let ended: Vec<String> =
        IntentState::ALL.iter().filter(|s| s.is_terminal()).map(|s| format!("'{}'", s.as_str())).collect();
    let rows = sqlx::query(&format!(
        "SELECT r.key, r.workflow, r.version, r.trigger, r.actor, r.args, r.cause, r.catch_up, r.cursor, r.current,
                r.step_ids, r.results, r.resume_at, r.wait_step, r.wait_source, r.wait_key, i.state
         FROM workflow_runs r LEFT JOIN intents i ON i.id = r.current
         WHERE r.cursor IS NOT NULL AND r.ended IS NULL
           AND ((r.resume_at IS NOT NULL AND r.resume_at <= ?1)
                OR (r.resume_at IS NULL AND r.wait_step IS NULL AND (r.current IS NULL OR i.state IN ({}))))
         ORDER BY r.started_at LIMIT ?2",
        ended.join(", ")
    ))
    .bind(now)
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("workflow_runs", e);
    let json = |r: &sqlx::sqlite::SqliteRow, col: &str| -> Result<serde_json::Value, StoreError> {
        let text: String = r.try_get(col)?;
        serde_json::from_str(&text).map_err(|e| corrupt(&e))
    };
    rows.iter()
        .map(|r| {
            let wait = match (r.try_get("wait_step")?, r.try_get("wait_source")?, r.try_get("wait_key")?) {
                (Some(step), Some(source), Some(key)) => Some(Waiting { step, source, key }),
                _ => None,
            };
            let progress = Progress {
                cursor: r.try_get::<Option<i64>, _>("cursor")?.map(|c| c.max(0) as usize),
                current: r
                    .try_get::<Option<String>, _>("current")?
                    .map(|i| i.parse())
                    .transpose()
                    .map_err(|e| corrupt(&e))?,
                step_ids: serde_json::from_value(json(r, "step_ids")?).map_err(|e| corrupt(&e))?,
                results: match json(r, "results")? {
                    serde_json::Value::Object(m) => m,
                    _ => Default::default(),
                },
                resume_at: r.try_get("resume_at")?,
                wait,
                ended: None,
            };
            Ok(Going {
                key: r.try_get("key")?,
                workflow: r.try_get("workflow")?,
                version: r.try_get("version")?,
                trigger: r.try_get("trigger")?,
                actor: r.try_get("actor")?,
                args: json(r, "args")?,
                cause: json(r, "cause")?,
                catch_up: r.try_get("catch_up")?,
                progress,
                state: r
                    .try_get::<Option<String>, _>("state")?
                    .map(|s| s.parse())
                    .transpose()
                    .map_err(|e| corrupt(&e))?,
            })
        })
        .collect()
}

/// When the next waiting run goes on by itself.
pub async fn next_resume(pool: &SqlitePool) -> Result<Option<Millis>, StoreError> {
    Ok(sqlx::query_scalar("SELECT MIN(resume_at) FROM workflow_runs WHERE cursor IS NOT NULL AND ended IS NULL")
        .fetch_one(pool)
        .await?)
}

/// A delivery to `source`'s webhook with correlation `key`: every run
/// waiting for it gets `event` as its `wait_for` step's result and goes on
/// at `now`. Returns how many did. A redelivery finds none waiting.
pub async fn deliver(
    conn: &mut SqliteConnection,
    source: &str,
    key: &str,
    event: &serde_json::Value,
    now: Millis,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE workflow_runs SET results = json_set(results, '$.\"' || wait_step || '\"', json(?1)),
                wait_step = NULL, wait_source = NULL, wait_key = NULL, resume_at = ?2
         WHERE wait_source = ?3 AND wait_key = ?4 AND wait_step IS NOT NULL AND ended IS NULL",
    )
    .bind(event.to_string())
    .bind(now)
    .bind(source)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Keeps the text of a workflow version a run started with.
pub async fn keep_version(
    conn: &mut SqliteConnection,
    workflow: &str,
    version: &str,
    text: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO workflow_versions (workflow, version, text, seen_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(workflow)
    .bind(version)
    .bind(text)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The text of a workflow version kept before.
pub async fn version_text(pool: &SqlitePool, workflow: &str, version: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT text FROM workflow_versions WHERE workflow = ? AND version = ?")
        .bind(workflow)
        .bind(version)
        .fetch_optional(pool)
        .await?)
}
