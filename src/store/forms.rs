//! Workflow arguments being asked for in a chat, one form per person per
//! chat (see `migrations/0014_arg_forms.sql`).

use serde_json::{Map, Value};
use sqlx::{SqliteConnection, SqlitePool};

use super::StoreError;
use crate::domain::Millis;

#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub chat: String,
    pub actor: String,
    pub workflow: String,
    pub trigger: String,
    pub args: Map<String, Value>,
    /// The parameter the next message answers.
    pub asking: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

type Row = (String, String, String, String, String, String, Millis, Millis);

/// The person's open form in the chat, unless it has expired.
pub async fn open(pool: &SqlitePool, chat: &str, actor: &str, now: Millis) -> Result<Option<Form>, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT chat, actor, workflow, trigger, args, asking, created_at, expires_at
         FROM arg_forms WHERE chat = ? AND actor = ? AND expires_at > ?",
    )
    .bind(chat)
    .bind(actor)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    let Some((chat, actor, workflow, trigger, args, asking, created_at, expires_at)) = row else {
        return Ok(None);
    };
    let args = serde_json::from_str(&args).map_err(|e| StoreError::corrupt("arg_forms", e))?;
    Ok(Some(Form { chat, actor, workflow, trigger, args, asking, created_at, expires_at }))
}

/// Keeps the form, replacing the person's earlier one in the chat.
pub async fn save(conn: &mut SqliteConnection, f: &Form) -> Result<(), StoreError> {
    let args = Value::Object(f.args.clone()).to_string();
    sqlx::query(
        "INSERT INTO arg_forms (chat, actor, workflow, trigger, args, asking, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (chat, actor) DO UPDATE SET workflow = excluded.workflow, trigger = excluded.trigger, args = excluded.args, asking = excluded.asking,
           created_at = excluded.created_at, expires_at = excluded.expires_at",
    )
    .bind(&f.chat)
    .bind(&f.actor)
    .bind(&f.workflow)
    .bind(&f.trigger)
    .bind(args)
    .bind(&f.asking)
    .bind(f.created_at)
    .bind(f.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Closes the person's form in the chat (answered, cancelled or replaced).
pub async fn close(conn: &mut SqliteConnection, chat: &str, actor: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM arg_forms WHERE chat = ? AND actor = ?").bind(chat).bind(actor).execute(conn).await?;
    Ok(())
}
