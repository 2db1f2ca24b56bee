//! Intents and their steps. An intent, its steps, the inbox claim that
//! produced it and its first audit row commit in one transaction, so nothing
//! can act on an intent that is not fully written down (invariant 1).

use serde_json::json;
use sqlx::SqliteConnection;

use super::audit::{self, Entry};
use super::inbox::{self, Claim, Inbound};
use super::{Store, StoreError, memory, rows};
use crate::domain::{Intent, IntentId, IntentState, Step};

/// What [`create`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    New(Box<Intent>),
    /// The inbound event was seen before; this is the intent it produced.
    Existing(IntentId),
}

/// Writes a new intent, or returns the one an earlier delivery of the same
/// inbound event produced.
pub async fn create(store: &Store, intent: Intent, inbound: Option<&Inbound<'_>>) -> Result<Created, StoreError> {
    let mut tx = store.begin().await?;
    let created = create_in(&mut tx, intent, inbound).await?;
    tx.commit().await?;
    Ok(created)
}

/// The same, inside the caller's transaction.
pub async fn create_in(
    conn: &mut SqliteConnection,
    intent: Intent,
    inbound: Option<&Inbound<'_>>,
) -> Result<Created, StoreError> {
    let inbox_id = match inbound {
        None => None,
        Some(inbound) => match inbox::claim(conn, intent.created_at, inbound).await? {
            Claim::New { inbox_id } => Some(inbox_id),
            Claim::Seen { intent_id: Some(id), .. } => return Ok(Created::Existing(id)),
            Claim::Seen { intent_id: None, .. } => {
                return Err(StoreError::IdempotencyConflict(inbound.external_id.into()));
            }
        },
    };
    insert(conn, &intent).await?;
    if let (Some(inbox_id), Some(inbound)) = (inbox_id, inbound) {
        inbox::link(conn, &inbox_id, intent.id).await?;
        // What the operator said is worth remembering, with where it came from.
        memory::record(conn, &memory::request(&intent, inbound.channel)).await?;
    }
    Ok(Created::New(Box::new(intent)))
}

/// Writes many new intents in one transaction (group commit), for callers
/// that batch submissions.
pub async fn create_many(store: &Store, batch: &[Intent]) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    super::sets::insert_intents(&mut tx, batch).await?;
    tx.commit().await?;
    Ok(())
}

/// Inserts an intent, its steps and its `intent.created` audit row into the
/// caller's transaction.
pub async fn insert(conn: &mut SqliteConnection, intent: &Intent) -> Result<(), StoreError> {
    let id = intent.id.to_string();
    let prov = &intent.provenance;
    let plan = intent.plan.as_ref().map(|p| serde_json::to_string(p).expect("plans serialize"));
    sqlx::query(
        "INSERT INTO intents (id, source, actor, reason, text, state, risk, plan, agent, agent_version, \
         policy_version, deadline, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(&prov.channel)
    .bind(&prov.actor)
    .bind(&prov.reason)
    .bind(intent.text.as_str())
    .bind(intent.state.as_str())
    .bind(intent.risk.as_str())
    .bind(&plan)
    .bind(&prov.agent)
    .bind(&prov.agent_version)
    .bind(&prov.policy_version)
    .bind(intent.deadline)
    .bind(intent.created_at)
    .bind(intent.updated_at)
    .execute(&mut *conn)
    .await?;
    let steps = intent.plan.as_ref().map(|p| p.steps()).unwrap_or_default();
    for (seq, planned) in steps.iter().enumerate() {
        let step = Step::pending(intent.id, seq as u32, planned.clone());
        sqlx::query(
            "INSERT INTO steps (intent_id, seq, adapter, action, args, state, idempotency_key, within_ms, wait_ms, \
             not_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(step.seq as i64)
        .bind(step.planned.adapter.as_str())
        .bind(step.planned.action.as_str())
        .bind(step.planned.args.to_string())
        .bind(step.state.as_str())
        .bind(step.idempotency_key().as_str())
        .bind(planned.within_secs.map(|s| (s * 1000) as i64))
        .bind(planned.wait_secs.map(|s| (s * 1000) as i64))
        .bind(planned.not_before)
        .execute(&mut *conn)
        .await?;
    }
    let entry = Entry { actor: &prov.actor, action: "intent.created", subject: Some(&id), detail: created(intent) };
    audit::append(conn, intent.created_at, &entry).await?;
    Ok(())
}

/// An `intent.created` audit row's detail.
pub(super) fn created(intent: &Intent) -> serde_json::Value {
    let prov = &intent.provenance;
    json!({
        "state": intent.state,
        "source": prov.channel,
        "steps": intent.plan.as_ref().map_or(0, |p| p.steps().len()),
        "risk": intent.risk,
        "agent": prov.agent,
        "agent_version": prov.agent_version,
        "policy_version": prov.policy_version,
    })
}

/// Moves an intent from `from` to `to` if it is still in `from`, writing the
/// audit row in the same transaction. Returns false if the intent had moved.
pub async fn transition(
    conn: &mut SqliteConnection,
    id: IntentId,
    from: IntentState,
    to: IntentState,
    at: i64,
    actor: &str,
    why: serde_json::Value,
) -> Result<bool, StoreError> {
    let id = id.to_string();
    let changed = sqlx::query("UPDATE intents SET state = ?, updated_at = ? WHERE id = ? AND state = ?")
        .bind(to.as_str())
        .bind(at)
        .bind(&id)
        .bind(from.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if changed == 0 {
        return Ok(false);
    }
    let entry = Entry { actor, action: "intent.state", subject: Some(&id), detail: state_detail(from, to, why) };
    audit::append(conn, at, &entry).await?;
    Ok(true)
}

/// An `intent.state` audit row's detail.
pub fn state_detail(from: IntentState, to: IntentState, why: serde_json::Value) -> serde_json::Value {
    json!({ "from": from, "to": to, "why": why })
}

/// An intent read inside the caller's transaction.
pub async fn load(conn: &mut SqliteConnection, id: IntentId) -> Result<Intent, StoreError> {
    let sql = format!("SELECT {} FROM intents WHERE id = ?", rows::INTENT_COLUMNS);
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await?;
    row.as_ref().map(rows::intent).transpose()?.ok_or_else(|| StoreError::NotFound(format!("intent {id}")))
}

/// How the policy judged an intent, recorded before it is let in.
#[derive(Debug, Clone)]
pub struct Judged<'a> {
    pub risk: crate::domain::Risk,
    pub rule: &'a str,
    pub mode: &'a str,
    pub policy_version: &'a str,
    pub requires_approval: bool,
    pub review_window_ms: Option<i64>,
}

pub async fn record_judgement(conn: &mut SqliteConnection, id: IntentId, j: &Judged<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE intents SET risk = ?, risk_rule = ?, mode = ?, policy_version = ?, requires_approval = ?,          review_window_ms = ? WHERE id = ?",
    )
    .bind(j.risk.as_str())
    .bind(j.rule)
    .bind(j.mode)
    .bind(j.policy_version)
    .bind(j.requires_approval)
    .bind(j.review_window_ms)
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What an intent's next transition stands on: its state, and its review
/// window when it was judged review-after.
pub async fn standing(conn: &mut SqliteConnection, id: IntentId) -> Result<(IntentState, Option<i64>), StoreError> {
    let (state, window): (String, Option<i64>) =
        sqlx::query_as("SELECT state, review_window_ms FROM intents WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("intent {id}")))?;
    Ok((state.parse().map_err(|e| StoreError::corrupt("intents", e))?, window))
}

pub async fn get(store: &Store, id: IntentId) -> Result<Option<Intent>, StoreError> {
    let sql = format!("SELECT {} FROM intents WHERE id = ?", rows::INTENT_COLUMNS);
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(store.reader()).await?;
    row.as_ref().map(rows::intent).transpose()
}

pub async fn steps(store: &Store, id: IntentId) -> Result<Vec<Step>, StoreError> {
    let sql = format!("SELECT {} FROM steps WHERE intent_id = ? ORDER BY seq", rows::STEP_COLUMNS);
    let rows = sqlx::query(&sql).bind(id.to_string()).fetch_all(store.reader()).await?;
    rows.iter().map(rows::step).collect()
}

/// Which intents to list: newest first, optionally in one state, starting
/// after a cursor (the last id of the previous page).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub state: Option<IntentState>,
    pub before: Option<IntentId>,
    pub limit: u32,
}

pub async fn list(store: &Store, filter: &ListFilter) -> Result<Vec<Intent>, StoreError> {
    let sql = format!(
        "SELECT {} FROM intents WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
        rows::INTENT_COLUMNS
    );
    let rows = sqlx::query(&sql)
        .bind(filter.state.map(|s| s.as_str()))
        .bind(filter.before.map(|id| id.to_string()))
        .bind(filter.limit as i64)
        .fetch_all(store.reader())
        .await?;
    rows.iter().map(rows::intent).collect()
}

/// How many intents are in each state, for metrics and status.
pub async fn count_by_state(store: &Store) -> Result<Vec<(IntentState, i64)>, StoreError> {
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM intents GROUP BY state").fetch_all(store.reader()).await?;
    counts
        .into_iter()
        .map(|(state, n)| Ok((state.parse().map_err(|e| StoreError::corrupt("intents", e))?, n)))
        .collect()
}

/// Of `ids`, those that ended at `at` (their last change, to a terminal
/// state, was stamped then): each id, that state and when it was created.
pub async fn ended_at(
    pool: &sqlx::SqlitePool,
    ids: &[IntentId],
    at: crate::domain::Millis,
) -> Result<Vec<(String, IntentState, crate::domain::Millis)>, StoreError> {
    let mut unique: Vec<String> = ids.iter().map(ToString::to_string).collect();
    unique.sort();
    unique.dedup();
    let mut ended = Vec::new();
    for chunk in unique.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(",");
        let sql = format!("SELECT id, state, created_at FROM intents WHERE updated_at = ? AND id IN ({marks})");
        let mut query = sqlx::query_as::<_, (String, String, i64)>(&sql).bind(at);
        for id in chunk {
            query = query.bind(id);
        }
        for (id, state, created_at) in query.fetch_all(pool).await? {
            let state: IntentState = state.parse().map_err(|e| StoreError::corrupt("intents", e))?;
            if state.is_terminal() {
                ended.push((id, state, created_at));
            }
        }
    }
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{IntentText, Plan, PlannedStep, Provenance, StepState};
    use crate::store::audit;

    fn planned_intent() -> Intent {
        let step = PlannedStep::parse("note", "write", json!({"text": "x"})).unwrap();
        let plan = Plan::new(vec![step.clone(), step]).unwrap();
        Intent::new(IntentText::parse("do it").unwrap(), Provenance::operator("cli", "me"), Some(plan), 10)
    }

    #[tokio::test]
    async fn an_intent_round_trips_with_steps_and_audit() {
        let store = Store::in_memory().await.unwrap();
        let intent = planned_intent();
        create(&store, intent.clone(), None).await.unwrap();
        assert_eq!(get(&store, intent.id).await.unwrap().unwrap(), intent);
        let steps = steps(&store, intent.id).await.unwrap();
        assert_eq!(
            steps.iter().map(|s| (s.seq, s.state)).collect::<Vec<_>>(),
            [(0, StepState::Pending), (1, StepState::Pending)]
        );
        let trail = audit::for_subject(store.reader(), &intent.id.to_string()).await.unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].action, "intent.created");
    }

    #[tokio::test]
    async fn a_transition_is_conditional_and_audited() {
        let store = Store::in_memory().await.unwrap();
        let intent = planned_intent();
        create(&store, intent.clone(), None).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let moved =
            transition(&mut tx, intent.id, IntentState::Planned, IntentState::Running, 11, "orchestrator", json!(null));
        assert!(moved.await.unwrap());
        let again = transition(&mut tx, intent.id, IntentState::Planned, IntentState::Cancelled, 12, "x", json!(null));
        assert!(!again.await.unwrap(), "a stale transition must not apply");
        tx.commit().await.unwrap();
        assert_eq!(get(&store, intent.id).await.unwrap().unwrap().state, IntentState::Running);
        assert_eq!(audit::for_subject(store.reader(), &intent.id.to_string()).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn listing_pages_newest_first() {
        let store = Store::in_memory().await.unwrap();
        let mut ids = vec![];
        for _ in 0..5 {
            let intent = planned_intent();
            ids.push(intent.id);
            create(&store, intent, None).await.unwrap();
        }
        ids.sort();
        let first = list(&store, &ListFilter { limit: 3, ..Default::default() }).await.unwrap();
        assert_eq!(first.iter().map(|i| i.id).collect::<Vec<_>>(), [ids[4], ids[3], ids[2]]);
        let rest = list(&store, &ListFilter { limit: 3, before: Some(ids[2]), ..Default::default() }).await.unwrap();
        assert_eq!(rest.iter().map(|i| i.id).collect::<Vec<_>>(), [ids[1], ids[0]]);
        let running = ListFilter { limit: 3, state: Some(IntentState::Running), ..Default::default() };
        assert!(list(&store, &running).await.unwrap().is_empty());
    }
}
