//! Copies of free text outside memory: the inbox keeps what each event
//! said, the outbox what was sent, approvals what was asked, the ledger what
//! a model answered, a workflow run what started it (a webhook's body) and
//! what its steps gave. Forgetting a memory record scrubs every copy of its
//! text, and retention scrubs old copies, so neither leaves the text behind
//! where `forget` does not look. Ids, hashes and times stay: an inbox row
//! still recognises a late redelivery by its payload hash.

use serde::Serialize;
use sqlx::SqliteConnection;

use super::StoreError;
use crate::domain::Millis;

/// Rows scrubbed, by table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub inbox: u64,
    pub outbox: u64,
    pub approvals: u64,
    pub model_calls: u64,
    pub notes: u64,
    pub workflow_runs: u64,
    /// Workflow arguments being asked for in a chat.
    pub forms: u64,
    /// Menu buttons (their labels name what they do).
    pub menu_buttons: u64,
}

impl Report {
    pub fn total(&self) -> u64 {
        self.inbox
            + self.outbox
            + self.approvals
            + self.model_calls
            + self.notes
            + self.workflow_runs
            + self.forms
            + self.menu_buttons
    }
}

/// Texts shorter than this are not searched for: too likely to be part of
/// something else.
pub const MIN_TEXT_CHARS: usize = 12;

/// The text as it appears inside a JSON string.
fn in_json(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted[1..quoted.len().saturating_sub(1).max(1)].to_owned()
}

/// Scrubs every copy of `text`. A message still waiting to be sent that
/// holds it is not sent.
pub async fn copies_of(conn: &mut SqliteConnection, text: &str) -> Result<Report, StoreError> {
    let text = text.trim();
    if text.chars().count() < MIN_TEXT_CHARS {
        return Ok(Report::default());
    }
    let json = in_json(text);
    let mut r = Report::default();
    r.inbox = sqlx::query(
        "UPDATE inbox SET payload = iif(payload IS NULL, NULL, '{}'), reply = NULL,
             event = iif(done_at IS NULL, event, '{}')
         WHERE instr(coalesce(payload, ''), ?1) > 0 OR instr(coalesce(reply, ''), ?1) > 0
            OR (done_at IS NOT NULL AND instr(coalesce(event, ''), ?1) > 0)",
    )
    .bind(&json)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    r.outbox = sqlx::query(
        "UPDATE outbox SET payload = '{}',
             state = CASE state WHEN 'pending' THEN 'failed' ELSE state END,
             last_error = CASE state WHEN 'pending' THEN 'its text was forgotten before it was sent' ELSE last_error END
         WHERE instr(payload, ?1) > 0",
    )
    .bind(&json)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    r.approvals = sqlx::query(
        "UPDATE approvals SET request = json_object('intent_id', intent_id, 'scrubbed', 1) WHERE instr(request, ?1) > 0",
    )
    .bind(&json)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    r.model_calls = sqlx::query("UPDATE model_calls SET detail = NULL WHERE instr(coalesce(detail, ''), ?1) > 0")
        .bind(text)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    r.notes = sqlx::query("DELETE FROM notes WHERE instr(text, ?1) > 0")
        .bind(text)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    r.forms = sqlx::query("DELETE FROM arg_forms WHERE instr(args, ?1) > 0")
        .bind(&json)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    r.menu_buttons = sqlx::query("DELETE FROM menu_buttons WHERE instr(label, ?1) > 0")
        .bind(text)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(r)
}

/// Scrubs copies made before `before`: what events said, what was sent,
/// what models answered; and the requests of approvals decided and past
/// their window by `now`.
pub async fn older_than(conn: &mut SqliteConnection, before: Millis, now: Millis) -> Result<Report, StoreError> {
    let mut r = Report::default();
    r.inbox = sqlx::query(
        "UPDATE inbox SET payload = iif(payload IS NULL, NULL, '{}'), reply = NULL,
             event = iif(done_at IS NULL, event, '{}')
         WHERE received_at < ?
           AND (payload != '{}' OR reply IS NOT NULL OR (done_at IS NOT NULL AND event != '{}'))",
    )
    .bind(before)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    r.outbox =
        sqlx::query("UPDATE outbox SET payload = '{}' WHERE state != 'pending' AND created_at < ? AND payload != '{}'")
            .bind(before)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    r.approvals = sqlx::query(
        "UPDATE approvals SET request = json_object('intent_id', intent_id, 'scrubbed', 1)
         WHERE state != 'pending' AND expires_at < ? AND json_extract(request, '$.scrubbed') IS NULL",
    )
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    r.model_calls = sqlx::query("UPDATE model_calls SET detail = NULL WHERE at < ? AND detail IS NOT NULL")
        .bind(before)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    // Only runs that will not go on: a run still going renders its next
    // part over these. The arguments' hash stays, so a replayed key with
    // other arguments is still told apart.
    r.workflow_runs = sqlx::query(
        "UPDATE workflow_runs SET args = '{}', cause = '{}', results = '{}'
         WHERE started_at < ? AND cursor IS NULL AND (args != '{}' OR cause != '{}' OR results != '{}')",
    )
    .bind(before)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // A form past its time is never answered.
    r.forms =
        sqlx::query("DELETE FROM arg_forms WHERE expires_at < ?").bind(now).execute(&mut *conn).await?.rows_affected();
    // A button past its time does nothing; its row only names what it did.
    r.menu_buttons = sqlx::query("DELETE FROM menu_buttons WHERE expires_at < ?")
        .bind(before.min(now))
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::inbox::{self, Inbound};
    use crate::store::{Store, outbox};
    use serde_json::json;

    async fn count(store: &Store, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(store.reader()).await.unwrap()
    }

    /// Guarantee: forget reaches every copy of a record's text.
    #[tokio::test]
    async fn forgetting_a_text_scrubs_its_copies_and_keeps_the_rest() {
        let store = Store::in_memory().await.unwrap();
        let secret = "the door code is \"4711\" for the back office";
        let mut tx = store.begin().await.unwrap();
        let said = json!({"text": format!("remember that {secret}")});
        let other = json!({"text": "something else entirely, kept"});
        for (id, payload) in [("1", &said), ("2", &other)] {
            // What the platform said is kept with the event, and handled.
            let actor = crate::domain::Actor::new("telegram", "1");
            let event = inbox::Event {
                channel: "telegram".into(),
                external_id: id.into(),
                conversation: "1".into(),
                actor,
                said: json!({"kind": "text", "said": payload}),
            };
            inbox::keep(&mut tx, &event, 1).await.unwrap();
            let ib = Inbound { channel: "telegram", external_id: id, actor: "telegram:1", payload };
            inbox::claim(&mut tx, 1, &ib).await.unwrap();
            inbox::done(&mut tx, "telegram", id, 1).await.unwrap();
        }
        let noted = crate::domain::Outbound::reply(format!("Noted: {secret}"));
        outbox::enqueue(&mut tx, "log:x", &noted, None, 1).await.unwrap();
        sqlx::query("INSERT INTO notes (key, intent_id, text, created_at) VALUES ('k', 'i', ?, 1)")
            .bind(format!("{secret}."))
            .execute(&mut *tx)
            .await
            .unwrap();
        let r = copies_of(&mut tx, secret).await.unwrap();
        assert_eq!((r.inbox, r.outbox, r.notes), (1, 1, 1), "{r:?}");
        tx.commit().await.unwrap();
        assert_eq!(count(&store, "SELECT COUNT(*) FROM inbox WHERE payload LIKE '%4711%'").await, 0);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM inbox WHERE event LIKE '%4711%'").await, 0);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM inbox WHERE event LIKE '%kept%'").await, 1);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM inbox WHERE payload LIKE '%kept%'").await, 1);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM outbox WHERE payload LIKE '%4711%' OR state = 'pending'").await,
            0
        );
        let mut tx = store.begin().await.unwrap();
        assert_eq!(copies_of(&mut tx, "door").await.unwrap().total(), 0, "too short to search for");
        // Two workflow runs: one ended, one still going (it renders its
        // next part over what it keeps).
        for (key, cursor) in [("ended", None), ("going", Some(1))] {
            sqlx::query(
                "INSERT INTO workflow_runs (key, workflow, version, trigger, args, args_hash, actor, outcome,
                 started_at, cause, results, cursor) VALUES (?, 'w', 'v', 'hook', '{\"email\":\"a@b.c\"}', 'h',
                 'a', 'started', 1, '{\"body\":\"x\"}', '{\"s\":1}', ?)",
            )
            .bind(key)
            .bind(cursor)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        let old = older_than(&mut tx, 2, 2).await.unwrap();
        assert_eq!(old.inbox, 1, "the other row, once old");
        assert_eq!(old.workflow_runs, 1, "only the run that ended");
        let kept: String = sqlx::query_scalar("SELECT cause FROM workflow_runs WHERE key = 'going'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(kept, "{\"body\":\"x\"}");
        assert_eq!(older_than(&mut tx, 2, 2).await.unwrap().total(), 0, "twice changes nothing");
    }
}
