//! What the workflow tests share: a server with workflow files and a
//! policy that lets every call run unattended, starting a run over the API,
//! and polling what the server wrote. Each test file uses a part of it.
#![allow(dead_code)]

use std::path::Path;

use serde_json::{Value, json};
use steward::domain::SharedClock;

use super::helpers::{self, TestApp};

/// Every webhook runs unattended here: the tests are about workflows.
pub const POLICY: &str = r#"
default_risk = "low"
[levels.low]
mode = "auto"
[levels.medium]
mode = "auto"
[levels.high]
mode = "auto"
"#;

pub async fn start(dir: tempfile::TempDir, clock: SharedClock, files: &[(&str, String)]) -> TestApp {
    start_with(dir, clock, files, |_| {}).await
}

/// A server with these workflow files, the all-auto policy, and `adjust`.
pub async fn start_with(
    dir: tempfile::TempDir,
    clock: SharedClock,
    files: &[(&str, String)],
    adjust: impl FnOnce(&mut steward::config::Config),
) -> TestApp {
    let flows = dir.path().join("workflows");
    std::fs::create_dir_all(&flows).unwrap();
    for (name, text) in files {
        std::fs::write(flows.join(name), text).unwrap();
    }
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    TestApp::spawn_clocked(dir, clock, move |c| {
        c.workflows.dir = flows;
        c.policy.path = Some(policy);
        c.adapters.webhook.retry.initial_ms = 10;
        adjust(c);
    })
    .await
}

pub async fn run(app: &TestApp, name: &str, key: &str, args: Value) -> reqwest::Response {
    app.post(&format!("/v1/workflows/{name}/runs"))
        .header("idempotency-key", key)
        .json(&json!({"args": args}))
        .send()
        .await
        .unwrap()
}

pub fn db(app: &TestApp) -> std::path::PathBuf {
    app.dir.path().join("steward.db")
}

pub async fn wait_for_runs(db: &Path, n: i64) {
    until("the runs", || async { helpers::count_in(db, "SELECT COUNT(*) FROM workflow_runs").await >= n }).await;
}

pub use super::helpers::until;

/// Rows read from a server's database while it runs.
pub async fn rows<T>(db: &Path, sql: &str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display())).await.unwrap();
    sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
}
