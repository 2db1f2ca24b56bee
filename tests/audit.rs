//! `steward audit verify` against a chain tampered with plain SQL.

mod helpers;

use std::path::Path;

use helpers::{run_in, stdout};
use sqlx::Connection;
use steward::config::StoreConfig;
use steward::domain::{Intent, IntentState, IntentText, Plan, PlannedStep, Provenance};
use steward::store::{Store, intents};

/// A data dir with 3 intents, each created and moved once: 6 audit rows.
async fn populated(dir: &Path) {
    let store = Store::open(&dir.join("data/steward.db"), &StoreConfig::default()).await.unwrap();
    for i in 0..3 {
        let step = PlannedStep::parse("note", "write", serde_json::json!({"text": i})).unwrap();
        let plan = Plan::new(vec![step]).unwrap();
        let intent = Intent::new(
            IntentText::parse(format!("intent {i}")).unwrap(),
            Provenance::operator("cli", "me"),
            Some(plan),
            1_000 + i,
        );
        intents::create(&store, intent.clone(), None).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let why = serde_json::json!("test");
        intents::transition(&mut tx, intent.id, IntentState::Planned, IntentState::Running, 2_000 + i, "test", why)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    store.close().await;
}

/// Tampering as an attacker with the file would: drop the guards, then edit.
async fn tamper(dir: &Path, sql: &[&str]) {
    let url = format!("sqlite://{}", dir.join("data/steward.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for stmt in ["DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete"].iter().chain(sql) {
        sqlx::query(stmt).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
}

fn verify(dir: &Path) -> (Option<i32>, String) {
    let out = run_in(dir, &["audit", "verify"]);
    (out.status.code(), stdout(&out))
}

#[tokio::test]
async fn an_untampered_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path()).await;
    let (code, out) = verify(dir.path());
    assert_eq!(code, Some(0), "{out}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("audit chain intact: 6 rows verified"));
    assert!(lines.next().is_some_and(|l| l.contains("audit.anchor (6:") && l.ends_with("held")), "{out}");
}

#[tokio::test]
async fn an_edited_row_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path()).await;
    tamper(
        dir.path(),
        &[r#"UPDATE audit SET detail = '{"from":"planned","to":"succeeded","why":"test"}' WHERE seq = 4"#],
    )
    .await;
    let (code, out) = verify(dir.path());
    assert_eq!(code, Some(1));
    assert!(out.contains("BROKEN at row 4") && out.contains("edited"), "{out}");
}

#[tokio::test]
async fn a_deleted_row_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path()).await;
    tamper(dir.path(), &["DELETE FROM audit WHERE seq = 3"]).await;
    let (code, out) = verify(dir.path());
    assert_eq!(code, Some(1));
    assert!(out.contains("row 3 is missing"), "{out}");

    // Deleting and renumbering to hide the gap still breaks the links.
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path()).await;
    tamper(dir.path(), &["DELETE FROM audit WHERE seq = 3", "UPDATE audit SET seq = seq - 1 WHERE seq > 3"]).await;
    let (code, out) = verify(dir.path());
    assert_eq!(code, Some(1));
    assert!(out.contains("BROKEN at row 3"), "{out}");
}

#[tokio::test]
async fn two_swapped_rows_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path()).await;
    tamper(
        dir.path(),
        &[
            "UPDATE audit SET seq = -2 WHERE seq = 2",
            "UPDATE audit SET seq = 2 WHERE seq = 5",
            "UPDATE audit SET seq = 5 WHERE seq = -2",
        ],
    )
    .await;
    let (code, out) = verify(dir.path());
    assert_eq!(code, Some(1));
    assert!(out.contains("BROKEN at row 2"), "{out}");
}

/// Guarantee: the chain cannot be shortened unnoticed. The anchor written
/// beside the database after every commit remembers how far it reached.
#[tokio::test]
async fn rows_cut_off_the_end_are_caught_by_the_anchor() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path()).await;
    let anchor = std::fs::read_to_string(dir.path().join("data/audit.anchor")).unwrap();
    assert!(anchor.starts_with("6:"), "the anchor names the head: {anchor}");
    tamper(dir.path(), &["DELETE FROM audit WHERE seq > 4"]).await;
    let (code, out) = verify(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("ends at row 4") && out.contains("cut off"), "{out}");
}

/// Guarantee: an anchor that left the machine (a digest prints one) is
/// checked against the chain.
#[tokio::test]
async fn an_anchor_given_on_the_command_line_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path()).await;
    let head = std::fs::read_to_string(dir.path().join("data/audit.anchor")).unwrap();
    let held = run_in(dir.path(), &["audit", "verify", "--anchor", head.trim()]);
    assert_eq!(held.status.code(), Some(0), "{}", stdout(&held));
    let (seq, _) = head.trim().split_once(':').unwrap();
    let forged = format!("{seq}:{}", "ab".repeat(32));
    let out = run_in(dir.path(), &["audit", "verify", "--anchor", &forged]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("the chain was rewritten"), "{}", stdout(&out));
}

/// Guarantee: an intent's state is always the one its audit trail records.
#[tokio::test]
async fn a_state_changed_outside_the_audit_log_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path()).await;
    tamper(dir.path(), &["UPDATE intents SET state = 'succeeded' WHERE rowid = 2"]).await;
    let (code, out) = verify(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("is `succeeded` but the audit says `running`"), "{out}");
}
