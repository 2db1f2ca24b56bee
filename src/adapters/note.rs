//! The `note` adapter: writes a note into steward's own database. The key is
//! the note's primary key, so writing twice is writing once, and reconcile
//! can always tell.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{ActionSpec, Adapter, AdapterError, Description, Reconciled};
use crate::domain::{IdempotencyKey, InvalidInput, Reach};
use crate::store::Store;

pub struct NoteAdapter {
    store: Store,
}

impl NoteAdapter {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn text_of(args: &Value) -> Result<&str, InvalidInput> {
    match args.get("text").and_then(Value::as_str) {
        Some(t) if !t.trim().is_empty() => Ok(t),
        _ => Err(InvalidInput::new("args.text", "a note needs non-empty `text`")),
    }
}

fn intent_of(key: &IdempotencyKey) -> &str {
    key.as_str().trim_start_matches("steward-").rsplit_once('-').map_or("", |(intent, _)| intent)
}

/// The `note` adapter's one action, `write`. It reaches nothing outside.
pub fn description() -> Description {
    Description {
        name: "note",
        actions: vec![ActionSpec {
            name: "write",
            args_schema: json!({"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}),
            can_compensate: true,
            can_reconcile: true,
            destinations: vec![],
        }],
    }
}

#[async_trait]
impl Adapter for NoteAdapter {
    fn describe(&self) -> Description {
        description()
    }

    fn validate(&self, _action: &str, args: &Value) -> Result<(), InvalidInput> {
        text_of(args).map(|_| ())
    }

    async fn execute(
        &self,
        key: &IdempotencyKey,
        _action: &str,
        args: &Value,
        _reach: &Reach,
    ) -> Result<Value, AdapterError> {
        let text = text_of(args).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        let mut tx = self.store.begin().await.map_err(AdapterError::transient)?;
        sqlx::query(
            "INSERT INTO notes (key, intent_id, text, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key.as_str())
        .bind(intent_of(key))
        .bind(text)
        .bind(self.store.now())
        .execute(&mut *tx)
        .await
        .map_err(AdapterError::transient)?;
        tx.commit().await.map_err(AdapterError::transient)?;
        Ok(json!({"note": key.as_str()}))
    }

    async fn compensate(
        &self,
        key: &IdempotencyKey,
        _action: &str,
        _args: &Value,
        _result: Option<&Value>,
        _reach: &Reach,
    ) -> Result<Value, AdapterError> {
        let mut tx = self.store.begin().await.map_err(AdapterError::transient)?;
        sqlx::query("DELETE FROM notes WHERE key = ?")
            .bind(key.as_str())
            .execute(&mut *tx)
            .await
            .map_err(AdapterError::transient)?;
        tx.commit().await.map_err(AdapterError::transient)?;
        Ok(json!({"compensation": "deleted"}))
    }

    async fn reconcile(&self, key: &IdempotencyKey, _action: &str, _args: &Value, _reach: &Reach) -> Reconciled {
        let found: Result<Option<(String,)>, _> = sqlx::query_as("SELECT key FROM notes WHERE key = ?")
            .bind(key.as_str())
            .fetch_optional(self.store.reader())
            .await;
        match found {
            Ok(Some(_)) => Reconciled::Happened(json!({"note": key.as_str()})),
            Ok(None) => Reconciled::NotHappened,
            Err(e) => Reconciled::CannotTell(e.to_string()),
        }
    }
}
