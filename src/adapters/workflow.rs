//! The `workflow` adapter, the steps a workflow adds to its runs.
//!
//! `fan_out` is a `for_each` step. When it runs it starts one child run per
//! item, each its own intent with its own idempotency keys, judged by the
//! policy like any other. Each child's run row is keyed by the step's key
//! and the item's index, in one transaction with its intent, so a retried
//! or recovered step starts each child once.
//!
//! `answer` is the one step of an `ask`'s intent: it runs once the
//! question is answered (the answer is the approval's) and does nothing
//! else, so the run goes on.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ActionSpec, Adapter, AdapterError, Description, Reconciled};
use crate::domain::{IdempotencyKey, Intent, IntentText, InvalidInput, Plan, Provenance, Reach};
use crate::store::workflows::{self as runs, NewRun};
use crate::store::{Store, intents};

/// Most children one step starts.
pub const MAX_CHILDREN: usize = 1000;

/// What `fan_out` takes: the workflow and step it stands for, and each
/// child's rendered plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanOut {
    pub workflow: String,
    pub version: String,
    pub step: String,
    pub children: Vec<Child>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Child {
    pub item: Value,
    pub plan: Plan,
}

pub struct WorkflowAdapter {
    store: Store,
}

impl WorkflowAdapter {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn read(args: &Value) -> Result<FanOut, InvalidInput> {
    let f: FanOut = serde_json::from_value(args.clone()).map_err(|e| InvalidInput::new("args", e.to_string()))?;
    if f.children.is_empty() || f.children.len() > MAX_CHILDREN {
        return Err(InvalidInput::new("args.children", format!("1 to {MAX_CHILDREN} children")));
    }
    Ok(f)
}

/// The step of a question's intent.
pub const ANSWER: &str = "answer";

/// What `answer` takes: the question as asked (for the record).
fn read_answer(args: &Value) -> Result<crate::domain::Question, InvalidInput> {
    serde_json::from_value(args.clone()).map_err(|e| InvalidInput::new("args", e.to_string()))
}

fn child_key(key: &IdempotencyKey, index: usize) -> String {
    format!("{}:{index}", key.as_str())
}

pub fn description() -> Description {
    Description {
        name: "workflow",
        actions: vec![
            ActionSpec {
                name: "fan_out",
                args_schema: json!({"type": "object", "required": ["workflow", "version", "step", "children"]}),
                can_compensate: false,
                can_reconcile: true,
                destinations: vec![],
            },
            ActionSpec {
                name: "answer",
                args_schema: json!({"type": "object", "required": ["text", "choices", "default"]}),
                can_compensate: false,
                can_reconcile: true,
                destinations: vec![],
            },
        ],
    }
}

#[async_trait]
impl Adapter for WorkflowAdapter {
    fn describe(&self) -> Description {
        description()
    }

    fn validate(&self, action: &str, args: &Value) -> Result<(), InvalidInput> {
        match action {
            ANSWER => read_answer(args).map(drop),
            _ => read(args).map(drop),
        }
    }

    async fn execute(
        &self,
        key: &IdempotencyKey,
        action: &str,
        args: &Value,
        _reach: &Reach,
    ) -> Result<Value, AdapterError> {
        if action == ANSWER {
            read_answer(args).map_err(|e| AdapterError::Permanent(e.to_string()))?;
            return Ok(json!({}));
        }
        let f = read(args).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        let now = self.store.now();
        let actor = format!("workflow:{}", f.workflow);
        let mut started = Vec::with_capacity(f.children.len());
        let mut tx = self.store.begin().await.map_err(AdapterError::transient)?;
        for (i, child) in f.children.into_iter().enumerate() {
            let mut provenance = Provenance::operator("workflow", &actor);
            provenance.agent = actor.clone();
            provenance.agent_version = f.version.clone();
            provenance.reason = Some(format!("workflow {}, step {}, item {i}", f.workflow, f.step));
            let text = IntentText::parse(format!("Run workflow {} for item {i} of step {}", f.workflow, f.step))
                .map_err(|e| AdapterError::Permanent(e.to_string()))?;
            let intent = Intent::new(text, provenance, Some(child.plan), now);
            let run_key = child_key(key, i);
            let args = json!({"item": child.item});
            let run = NewRun {
                key: &run_key,
                workflow: &f.workflow,
                version: &f.version,
                trigger: &format!("for_each:{}", f.step),
                intent_id: Some(intent.id),
                args: &args,
                actor: &actor,
                period_at: None,
                catch_up: false,
                skipped: None,
                // What started it is the parent's step: its `trigger` says which.
                cause: &Value::Null,
                at: now,
            };
            // A child started before (this step ran, then its outcome was
            // lost) keeps its intent; the writer is one connection, so no
            // one else starts it in between.
            if let Some(earlier) = runs::started(&mut tx, &run_key).await.map_err(AdapterError::transient)? {
                started.extend(earlier.map(|i| i.to_string()));
                continue;
            }
            intents::insert(&mut tx, &intent).await.map_err(AdapterError::transient)?;
            runs::record(&mut tx, &run).await.map_err(AdapterError::transient)?;
            started.push(intent.id.to_string());
        }
        tx.commit().await.map_err(AdapterError::transient)?;
        Ok(json!({"children": started}))
    }

    async fn reconcile(&self, key: &IdempotencyKey, action: &str, args: &Value, _reach: &Reach) -> Reconciled {
        if action == ANSWER {
            // Answering has no effect outside: doing it again is safe.
            return Reconciled::NotHappened;
        }
        let Ok(f) = read(args) else { return Reconciled::CannotTell("unreadable arguments".into()) };
        let prefix = format!("{}:", key.as_str());
        let found: Result<i64, _> =
            sqlx::query_scalar("SELECT COUNT(*) FROM workflow_runs WHERE substr(key, 1, ?) = ?")
                .bind(prefix.len() as i64)
                .bind(&prefix)
                .fetch_one(self.store.reader())
                .await;
        match found {
            // Starting the children again is safe: each is keyed.
            Ok(n) if (n as usize) < f.children.len() => Reconciled::NotHappened,
            Ok(_) => Reconciled::Happened(json!({"children": f.children.len()})),
            Err(e) => Reconciled::CannotTell(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PlannedStep;

    #[tokio::test]
    async fn each_child_starts_once_however_often_the_step_runs() {
        let store = Store::in_memory().await.unwrap();
        let fan = WorkflowAdapter::new(store.clone());
        let child = |i: usize| Child {
            item: json!(format!("client-{i}")),
            plan: Plan::new(vec![PlannedStep::parse("note", "write", json!({"text": format!("bill {i}")})).unwrap()])
                .unwrap(),
        };
        let args = serde_json::to_value(FanOut {
            workflow: "monthly".into(),
            version: "v1".into(),
            step: "bill".into(),
            children: (0..5).map(child).collect(),
        })
        .unwrap();
        let key = IdempotencyKey::for_step(crate::domain::IntentId::new(), 1);
        assert_eq!(fan.reconcile(&key, "fan_out", &args, &Reach::default()).await, Reconciled::NotHappened);
        let first = fan.execute(&key, "fan_out", &args, &Reach::default()).await.unwrap();
        let again = fan.execute(&key, "fan_out", &args, &Reach::default()).await.unwrap();
        assert_eq!(first, again, "the same children");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM intents").fetch_one(store.reader()).await.unwrap();
        assert_eq!(n, 5, "five children, once");
        assert!(matches!(fan.reconcile(&key, "fan_out", &args, &Reach::default()).await, Reconciled::Happened(_)));
        assert!(
            fan.validate("fan_out", &json!({"workflow": "m", "version": "v", "step": "s", "children": []})).is_err()
        );
    }
}
