//! Shared test helpers: the real app on port 0 with a fresh data dir, and the
//! real binary as a child process. No fixed sleeps: everything waits on a
//! condition with a deadline.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use steward::app::Server;
use steward::config::{Config, SecretString};
use tokio_util::sync::CancellationToken;

pub const TOKEN: &str = "test-token-7c1f";

/// Logs stay silent unless TEST_LOG=1.
pub fn init_test_log() {
    if std::env::var_os("TEST_LOG").is_some() {
        steward::telemetry::init(&Default::default(), Some("debug"));
    }
}

/// The built-in policy with loopback listed as a trusted host, as an
/// operator whose services run on this machine would write it: webhook
/// calls to 127.0.0.1 are then reviewed after, not held for approval.
pub fn trust_loopback(config: &mut Config) {
    let path = config.data_dir.join("policy.toml");
    let text = steward::policy::DEFAULT.replace("host_not_in = []", "host_not_in = [\"127.0.0.1\"]");
    std::fs::write(&path, text).unwrap();
    config.policy.path = Some(path);
}

/// A read-only count against a server's database, while it runs.
pub async fn count_in(db: &Path, sql: &str) -> i64 {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut db).await.unwrap();
    db.close().await.unwrap();
    n
}

/// A read-only text value (the first column of the first row) from a
/// server's database, while it runs.
pub async fn text_in(db: &Path, sql: &str) -> String {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let (text,): (String,) = sqlx::query_as(sql).fetch_one(&mut db).await.unwrap();
    db.close().await.unwrap();
    text
}

/// Timers that could still make a step run (a retry, a lease to recover):
/// with none armed, nothing can be sent again, however long one waits.
pub const ARMED_STEP_TIMERS: &str =
    "SELECT COUNT(*) FROM steps WHERE next_attempt_at IS NOT NULL OR lease_until IS NOT NULL";

/// Polls `done` until it holds, for 20 s.
pub async fn until<F: std::future::Future<Output = bool>>(what: &str, done: impl Fn() -> F) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "{what}: not within 20 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls an intent (`fetch` reads it) until it is in `state`, for 20 s.
async fn wait_for_state<F: std::future::Future<Output = serde_json::Value>>(
    state: &str,
    fetch: impl Fn() -> F,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let intent = fetch().await;
        if intent["state"] == state {
            return intent;
        }
        assert!(std::time::Instant::now() < deadline, "intent never reached {state}: {intent:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The real server, in-process, on 127.0.0.1:0 with a temp data dir.
pub struct TestApp {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_in(tempfile::tempdir().unwrap(), adjust).await
    }

    /// The server on an existing data directory: a restart.
    pub async fn spawn_in(dir: tempfile::TempDir, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_clocked(dir, steward::domain::SystemClock::shared(), adjust).await
    }

    /// The server with its time from `clock`: a test moves a manual clock
    /// past a timer instead of sleeping until it fires.
    pub async fn spawn_clocked(
        dir: tempfile::TempDir,
        clock: steward::domain::SharedClock,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        init_test_log();
        let mut config = Config::defaults_in(dir.path());
        config.http.token = Some(SecretString::from(TOKEN));
        // The model is loaded only by the tests about memory.
        config.embedding.backend = steward::config::EmbeddingBackend::Hash;
        // Not the repository's shipped workflows (the tests run from its root).
        config.workflows.dir = dir.path().join("workflows");
        adjust(&mut config);
        let server = Server::build_with_clock(&config, Some("127.0.0.1:0".parse().unwrap()), clock).await.unwrap();
        let addr = server.local_addr();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(server.run(shutdown.clone()));
        Self { addr, dir, client: reqwest::Client::new(), shutdown, handle }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(TOKEN)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(TOKEN)
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.delete(self.url(path)).bearer_auth(TOKEN)
    }

    /// POSTs `body` as JSON to `path` and returns the JSON answer.
    pub async fn call(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        self.post(path).json(&body).send().await.unwrap().json().await.unwrap()
    }

    /// A number the server's database answers, read-only beside the
    /// running server (`SELECT COUNT(*) ...`).
    pub async fn count(&self, sql: &str) -> i64 {
        count_in(&self.dir.path().join("steward.db"), sql).await
    }

    /// An intent as `GET /v1/intents/{id}` shows it.
    pub async fn intent(&self, id: &str) -> serde_json::Value {
        self.get(&format!("/v1/intents/{id}")).send().await.unwrap().json().await.unwrap()
    }

    /// Polls until the intent reaches `state` (20 s at most).
    pub async fn wait_for(&self, id: &str, state: &str) -> serde_json::Value {
        wait_for_state(state, || self.intent(id)).await
    }

    pub async fn stop(self) {
        self.stop_keeping_data().await;
    }

    /// Stops the server and hands back its data directory, to start again.
    pub async fn stop_keeping_data(self) -> tempfile::TempDir {
        // Clients go away before a server stops; an idle keep-alive
        // connection would otherwise hold the drain until its grace ends.
        drop(self.client);
        self.shutdown.cancel();
        self.handle.await.unwrap().unwrap();
        self.dir
    }
}

/// The `steward` binary built for these tests.
pub fn steward() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    // Tests must not see the developer's own configuration.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("STEWARD_") {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Runs the binary in `dir` with `--data-dir dir/data` and the given args.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    steward().current_dir(dir).arg("--data-dir").arg(dir.join("data")).args(args).output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `steward serve` as a child process, with its announced address.
pub struct ServeProcess {
    pub child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
}

impl ServeProcess {
    /// Starts `serve --addr 127.0.0.1:0` and waits (up to 60 s) for the
    /// `listening on http://ADDR` line.
    pub fn start(data_dir: &Path, envs: &[(&str, &str)]) -> Self {
        Self::start_logging(data_dir, envs, Stdio::null())
    }

    /// The same, its log (stderr) going to `log`.
    pub fn start_logging(data_dir: &Path, envs: &[(&str, &str)], log: impl Into<Stdio>) -> Self {
        let mut child = steward()
            .arg("--data-dir")
            .arg(data_dir)
            .args(["serve", "--addr", "127.0.0.1:0"])
            // Not the repository's shipped workflows (the tests run from its root).
            .env("STEWARD_WORKFLOWS__DIR", data_dir.join("workflows"))
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("serve printed no line");
        let addr = line
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected line: {line}"))
            .parse()
            .unwrap();
        Self { child, addr, data_dir: data_dir.to_owned() }
    }

    /// A JSON `POST` to the API with the test token.
    pub async fn call(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let url = format!("http://{}{path}", self.addr);
        let client = reqwest::Client::new();
        client.post(url).bearer_auth(TOKEN).json(&body).send().await.unwrap().json().await.unwrap()
    }

    /// An intent as `GET /v1/intents/{id}` shows it.
    pub async fn intent(&self, id: &str) -> serde_json::Value {
        let url = format!("http://{}/v1/intents/{id}", self.addr);
        reqwest::Client::new().get(url).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap()
    }

    /// Waits (up to 20 s) for an intent to reach `state`.
    pub async fn wait_for(&self, id: &str, state: &str) -> serde_json::Value {
        wait_for_state(state, || self.intent(id)).await
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
    }

    /// Waits up to 30 s for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::yield_now();
            std::thread::park_timeout(Duration::from_millis(20));
        }
        panic!("serve did not exit within 30 s");
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
