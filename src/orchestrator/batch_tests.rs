//! The set path and the one-by-one path must leave the store the same: the
//! same steps, intents, remembered outcomes and audit rows, and an audit
//! chain that verifies.

use serde_json::json;

use super::apply::ACTOR;
use super::*;
use crate::adapters::AdapterError;
use crate::domain::{Intent, IntentText, Plan, PlannedStep, Provenance};
use crate::store::{Store, audit, steps};

type Row = Vec<Option<String>>;

/// Every column of a table that a batch writes, as text, in a stable order.
async fn dump(store: &Store, sql: &str) -> Vec<Row> {
    let rows = sqlx::query(sql).fetch_all(store.reader()).await.unwrap();
    use sqlx::{Row as _, ValueRef};
    rows.iter()
        .map(|r| {
            (0..r.columns().len())
                .map(|i| {
                    let raw = r.try_get_raw(i).unwrap();
                    if raw.is_null() {
                        None
                    } else {
                        let text = r.try_get::<String, _>(i).ok();
                        let number = || r.try_get::<i64, _>(i).ok().map(|n| n.to_string());
                        let real = || r.try_get::<f64, _>(i).ok().map(|n| n.to_string());
                        // A value of no type read here would compare equal to a
                        // missing one.
                        Some(text.or_else(number).or_else(real).expect("text, integer or real"))
                    }
                })
                .collect()
        })
        .collect()
}

/// The store as both paths must leave it. Audit rows are compared per
/// subject, in order: the one-by-one outcomes of a mixed batch are written
/// before the set.
async fn state(store: &Store) -> Vec<Vec<Row>> {
    vec![
        dump(store, "SELECT intent_id, seq, state, attempts, next_attempt_at, lease_until, result, error, deadline FROM steps ORDER BY intent_id, seq").await,
        dump(store, "SELECT id, state, updated_at FROM intents ORDER BY id").await,
        dump(store, "SELECT kind, text, scope, intent_id, occurred_at FROM memory ORDER BY intent_id").await,
        dump(store, "SELECT subject, actor, action, detail, at FROM audit ORDER BY subject, seq").await,
    ]
}

fn intent(steps: usize) -> Intent {
    let step = PlannedStep::parse("note", "write", json!({"text": "x"})).unwrap();
    let plan = Plan::new(vec![step; steps]).unwrap();
    Intent::new(IntentText::parse("notes").unwrap(), Provenance::operator("cli", "me"), Some(plan), 1)
}

/// Claims what is due in `store` and ends each claimed step as `end` says.
async fn round(store: &Store, now: Millis, end: &dyn Fn(&Claimed) -> StepEnd, as_set: bool) {
    let mut tx = store.begin().await.unwrap();
    let claimed = steps::claim_due(&mut tx, now, now + 60_000, 100).await.unwrap();
    let ends: Vec<StepEnd> = claimed.iter().map(end).collect();
    let retry = RetryPolicy::default();
    if as_set {
        let batch: Vec<Finished<'_>> =
            claimed.iter().zip(&ends).map(|(claimed, outcome)| Finished { claimed, outcome, retry: &retry }).collect();
        outcomes(&mut tx, &batch, now + 1).await.unwrap();
    } else {
        for (c, e) in claimed.iter().zip(ends) {
            apply::outcome(&mut tx, c, e, &retry, now + 1).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_batch_as_a_set_leaves_the_store_as_one_by_one_does() {
    let (set, rows) = (Store::in_memory().await.unwrap(), Store::in_memory().await.unwrap());
    // Three steps, one step (ends at once), two steps, and two steps whose
    // first fails for good (the one-by-one path within the batch).
    let planned = [intent(3), intent(1), intent(2), intent(2)];
    let failing = planned[3].id;
    for store in [&set, &rows] {
        for i in &planned {
            intents::create(store, i.clone(), None).await.unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        for i in &planned {
            apply::intent_event(&mut tx, i.id, IntentEvent::Admit, 2, ACTOR, json!(null)).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let end = |c: &Claimed| {
        if c.intent_id == failing {
            StepEnd::Failed(AdapterError::Permanent("refused".into()))
        } else {
            StepEnd::Succeeded(json!({"seq": c.seq}))
        }
    };
    for now in [10, 20, 30, 40] {
        round(&set, now, &end, true).await;
        round(&rows, now, &end, false).await;
        assert_eq!(state(&set).await, state(&rows).await, "after the round at {now}");
    }
    let states: Vec<_> = state(&set).await[1].iter().map(|r| r[1].clone().unwrap()).collect();
    assert_eq!(states.iter().filter(|s| *s == "succeeded").count(), 3, "{states:?}");
    assert_eq!(states.iter().filter(|s| *s == "failed").count(), 1, "{states:?}");
    let verified = audit::verify(set.reader()).await.unwrap();
    assert!(verified.broken.is_none() && verified.rows > 10, "{verified:?}");
}

/// Low risk runs at once, medium runs for review after, high waits for an
/// approval (the one-by-one path).
const POLICY: &str = r#"
default_risk = "high"
[levels.low]
mode = "auto"
[levels.medium]
mode = "review-after"
[levels.high]
mode = "approve-before"
[[rule]]
name = "notes"
adapter = "note"
risk = "low"
[[rule]]
name = "mail"
adapter = "email"
risk = "medium"
"#;

#[tokio::test]
async fn admitting_as_a_set_leaves_the_store_as_one_by_one_does() {
    let policy = crate::policy::Policy::parse(POLICY).unwrap();
    let step = |adapter: &str, action: &str| PlannedStep::parse(adapter, action, json!({"text": "x"})).unwrap();
    let plan = |steps: Vec<PlannedStep>| {
        Intent::new(
            IntentText::parse("work").unwrap(),
            Provenance::operator("cli", "me"),
            Some(Plan::new(steps).unwrap()),
            1,
        )
    };
    let planned = [
        plan(vec![step("note", "write"); 3]),
        plan(vec![step("email", "send")]),
        plan(vec![step("webhook", "call"), step("note", "write")]),
        plan(vec![step("note", "write")]),
    ];
    let ids: Vec<IntentId> = planned.iter().map(|i| i.id).collect();
    let facts: HashMap<IntentId, Vec<crate::policy::StepFacts>> = planned
        .iter()
        .map(|i| {
            let n = i.plan.as_ref().map_or(0, |p| p.steps().len());
            (i.id, vec![crate::policy::StepFacts::from_args(&json!({"text": "x"})); n])
        })
        .collect();
    let (set, rows) = (Store::in_memory().await.unwrap(), Store::in_memory().await.unwrap());
    for (store, as_set) in [(&set, true), (&rows, false)] {
        for i in &planned {
            intents::create(store, i.clone(), None).await.unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        if as_set {
            crate::orchestrator::gate::admit_all(&mut tx, &ids, &policy, &facts, None, 5).await.unwrap();
        } else {
            for id in &ids {
                crate::orchestrator::gate::admit(&mut tx, *id, &policy, &facts[id], None, 5).await.unwrap();
            }
        }
        tx.commit().await.unwrap();
    }
    let judged = "SELECT id, state, risk, risk_rule, mode, policy_version, requires_approval, review_window_ms \
                  FROM intents ORDER BY id";
    assert_eq!(dump(&set, judged).await, dump(&rows, judged).await);
    assert_eq!(state(&set).await, state(&rows).await);
    let waiting = "SELECT intent_id, state, risk FROM approvals ORDER BY intent_id";
    assert_eq!(dump(&set, waiting).await, dump(&rows, waiting).await);
    assert_eq!(dump(&set, waiting).await.len(), 1, "the webhook waits for an approval");
    let states: Vec<_> = dump(&set, judged).await.iter().map(|r| r[1].clone().unwrap()).collect();
    assert_eq!(states.iter().filter(|s| *s == "running").count(), 3, "{states:?}");
    let verified = audit::verify(set.reader()).await.unwrap();
    assert!(verified.broken.is_none(), "{verified:?}");
}

#[tokio::test]
async fn inserting_as_a_set_leaves_the_store_as_one_by_one_does() {
    let mut waiting = PlannedStep::parse("note", "write", json!({"text": "later"})).unwrap();
    waiting.within_secs = Some(30);
    waiting.wait_secs = Some(5);
    waiting.not_before = Some(1_000);
    let mut batch = vec![intent(3), intent(1)];
    batch.push(Intent::new(
        IntentText::parse("wait, then note").unwrap(),
        Provenance::operator("telegram", "telegram:7"),
        Some(Plan::new(vec![waiting]).unwrap()),
        2,
    ));
    let (set, rows) = (Store::in_memory().await.unwrap(), Store::in_memory().await.unwrap());
    intents::create_many(&set, &batch).await.unwrap();
    let mut tx = rows.begin().await.unwrap();
    for i in &batch {
        intents::insert(&mut tx, i).await.unwrap();
    }
    tx.commit().await.unwrap();
    for table in [
        "SELECT * FROM intents ORDER BY id",
        "SELECT * FROM steps ORDER BY intent_id, seq",
        "SELECT * FROM audit ORDER BY seq",
    ] {
        let got = dump(&set, table).await;
        assert_eq!(got, dump(&rows, table).await, "{table}");
        assert!(!got.is_empty(), "{table}");
    }
    assert!(audit::verify(set.reader()).await.unwrap().broken.is_none());
}
