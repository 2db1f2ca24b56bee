//! The `notify` adapter: a message from steward to the operator, or to a
//! chat, through the outbox. The step's idempotency key is the outbox
//! row's dedup key, so a retried or recovered step queues it once, and
//! reconcile can always tell. A sent message cannot be taken back.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{ActionSpec, Adapter, AdapterError, Description, Reconciled};
use crate::domain::{IdempotencyKey, InvalidInput, Outbound, Reach};
use crate::store::{Store, outbox};

/// Longest message a step may send.
const MAX_TEXT: usize = 4000;

pub struct NotifyAdapter {
    store: Store,
}

impl NotifyAdapter {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// `send`'s arguments, checked: the text, and where it goes.
fn read(args: &Value) -> Result<(&str, &str), InvalidInput> {
    let text = match args.get("text").and_then(Value::as_str) {
        Some(t) if !t.trim().is_empty() && t.chars().count() <= MAX_TEXT => t,
        _ => return Err(InvalidInput::new("args.text", format!("a message needs `text`, 1 to {MAX_TEXT} characters"))),
    };
    let to = args.get("to").and_then(Value::as_str).unwrap_or("operator");
    let ok = match to.split_once(':') {
        None => to == "operator",
        Some(("telegram" | "discord", id)) => {
            !id.is_empty() && id.trim_start_matches('-').chars().all(|c| c.is_ascii_digit())
        }
        _ => false,
    };
    if !ok {
        return Err(InvalidInput::new(
            "args.to",
            format!("`{to}`: send to `operator`, `telegram:CHAT_ID` or `discord:CHANNEL_ID`"),
        ));
    }
    Ok((text, to))
}

/// The `notify` adapter's one action, `send`.
pub fn description() -> Description {
    Description {
        name: "notify",
        actions: vec![ActionSpec {
            name: "send",
            args_schema: json!({"type": "object", "required": ["text"], "properties": {
                "text": {"type": "string"},
                "to": {"type": "string", "default": "operator"}
            }, "additionalProperties": false}),
            can_compensate: false,
            can_reconcile: true,
            destinations: vec![],
        }],
    }
}

#[async_trait]
impl Adapter for NotifyAdapter {
    fn describe(&self) -> Description {
        description()
    }

    fn validate(&self, _action: &str, args: &Value) -> Result<(), InvalidInput> {
        read(args).map(drop)
    }

    async fn execute(
        &self,
        key: &IdempotencyKey,
        _action: &str,
        args: &Value,
        _reach: &Reach,
    ) -> Result<Value, AdapterError> {
        let (text, to) = read(args).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        let mut tx = self.store.begin().await.map_err(AdapterError::transient)?;
        outbox::enqueue(&mut tx, to, &Outbound::reply(text), Some(key.as_str()), self.store.now())
            .await
            .map_err(AdapterError::transient)?;
        tx.commit().await.map_err(AdapterError::transient)?;
        Ok(json!({"queued_to": to}))
    }

    async fn reconcile(&self, key: &IdempotencyKey, _action: &str, args: &Value, _reach: &Reach) -> Reconciled {
        let found: Result<Option<(String,)>, _> = sqlx::query_as("SELECT destination FROM outbox WHERE dedup_key = ?")
            .bind(key.as_str())
            .fetch_optional(self.store.reader())
            .await;
        match found {
            Ok(Some((to,))) => Reconciled::Happened(json!({"queued_to": to})),
            Ok(None) => Reconciled::NotHappened,
            Err(e) => Reconciled::CannotTell(format!("{e} (for a message to {})", read(args).map_or("?", |(_, t)| t))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_is_queued_once_per_key_and_reconcile_finds_it() {
        let store = Store::in_memory().await.unwrap();
        let notify = NotifyAdapter::new(store.clone());
        let key = IdempotencyKey::for_step(crate::domain::IntentId::new(), 0);
        let args = json!({"text": "The invoice run is done."});
        assert_eq!(notify.reconcile(&key, "send", &args, &Reach::default()).await, Reconciled::NotHappened);
        notify.execute(&key, "send", &args, &Reach::default()).await.unwrap();
        notify.execute(&key, "send", &args, &Reach::default()).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE destination = 'operator'")
            .fetch_one(store.reader())
            .await
            .unwrap();
        assert_eq!(n, 1, "a retried step queues its message once");
        assert!(matches!(notify.reconcile(&key, "send", &args, &Reach::default()).await, Reconciled::Happened(_)));
        for bad in [
            json!({"text": ""}),
            json!({"text": "x", "to": "webhook:http://evil"}),
            json!({"text": "x", "to": "telegram:abc"}),
        ] {
            assert!(notify.validate("send", &bad).is_err(), "{bad}");
        }
        assert!(notify.validate("send", &json!({"text": "x", "to": "telegram:-100123"})).is_ok());
    }
}
