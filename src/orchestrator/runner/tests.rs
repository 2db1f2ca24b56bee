use super::*;
use crate::adapters::{ActionSpec, Adapter, Description, Reconciled};
use crate::domain::{
    IdempotencyKey, Intent, IntentState, IntentText, InvalidInput, Plan, PlannedStep, Provenance, Reach,
};
use crate::store::intents;
use async_trait::async_trait;
use serde_json::Value;

/// An adapter that panics on purpose when asked to `boom`.
struct Panicky;

#[async_trait]
impl Adapter for Panicky {
    fn describe(&self) -> Description {
        let spec = |name| ActionSpec {
            name,
            args_schema: json!({}),
            can_compensate: false,
            can_reconcile: false,
            destinations: vec![],
        };
        Description { name: "panicky", actions: vec![spec("boom"), spec("fine")] }
    }
    fn validate(&self, _: &str, _: &Value) -> Result<(), InvalidInput> {
        Ok(())
    }
    async fn execute(
        &self,
        _: &IdempotencyKey,
        action: &str,
        _: &Value,
        _reach: &Reach,
    ) -> Result<Value, AdapterError> {
        if action == "boom" {
            panic!("deliberate panic in a test adapter");
        }
        Ok(json!({"ok": true}))
    }
    async fn compensate(
        &self,
        _: &IdempotencyKey,
        _: &str,
        _: &Value,
        _: Option<&Value>,
        _reach: &Reach,
    ) -> Result<Value, AdapterError> {
        Ok(json!({"compensation": "none"}))
    }
    async fn reconcile(&self, _: &IdempotencyKey, _: &str, _: &Value, _reach: &Reach) -> Reconciled {
        Reconciled::NotHappened
    }
}

const POLICY: &str = "default_risk = \"low\"\n[levels.low]\nmode = \"auto\"\n[levels.medium]\nmode = \"auto\"\n\
                      [levels.high]\nmode = \"auto\"\n";

async fn submit(store: &Store, action: &str) -> IntentId {
    let step = PlannedStep::parse("panicky", action, json!({})).unwrap();
    let plan = Plan::new(vec![step]).unwrap();
    let intent = Intent::new(IntentText::parse(action).unwrap(), Provenance::operator("cli", "me"), Some(plan), 1);
    let id = intent.id;
    intents::create(store, intent, None).await.unwrap();
    id
}

async fn wait_terminal(store: &Store, id: IntentId) -> IntentState {
    for _ in 0..2_000 {
        let state = intents::get(store, id).await.unwrap().unwrap().state;
        if state.is_terminal() {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("intent {id} never finished");
}

/// Guarantee: a panic in one step never takes down the runner. The step
/// fails with the panic's message, the runner goes on with other work,
/// and shutdown does not hang on the lost slot.
#[tokio::test]
async fn a_panicking_step_fails_and_the_runner_goes_on() {
    let store = Store::in_memory().await.unwrap();
    let catalog = Catalog::default().with(Arc::new(Panicky), Default::default());
    let policy = PolicyHandle::new(Policy::parse(POLICY).unwrap());
    let config = OrchestratorConfig { max_in_flight: 1, ..Default::default() };
    let runner = Runner::new(store.clone(), catalog, config).with_policy(policy);
    let handle = runner.handle();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));
    let boom = submit(&store, "boom").await;
    handle.wake();
    assert_eq!(wait_terminal(&store, boom).await, IntentState::Failed);
    let error: (String,) = sqlx::query_as("SELECT error FROM steps WHERE intent_id = ?")
        .bind(boom.to_string())
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert!(error.0.contains("deliberate panic"), "{}", error.0);
    // With one slot, the next intent runs only if the panic gave it back.
    let fine = submit(&store, "fine").await;
    handle.wake();
    assert_eq!(wait_terminal(&store, fine).await, IntentState::Succeeded);
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task).await.expect("shutdown does not hang").unwrap().unwrap();
}
