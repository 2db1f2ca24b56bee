//! An HTTP receiver for webhook steps, on 127.0.0.1: it applies each
//! idempotency key's effect once, records every raw delivery, answers status
//! queries for reconcile, and can inject faults (5xx, 429 with Retry-After,
//! a hang after applying).
//!
//! Routes: `POST /hook/ok` applies; `POST /hook/fail` answers 422;
//! `POST /hook/unavailable` always answers 503; `POST /hook/blackhole`
//! applies and never answers in time; `POST /undo` records a compensation; `GET /status/{key}` is 200 when the
//! key's effect was applied, 404 when not; `POST /notify` records a notice.
//! Hostile answers: `POST /hook/retry-after/{value}` and
//! `POST /notify/retry-after/{value}` answer a 429 with that `Retry-After`
//! first; `POST /hook/redirect` redirects to `/hook/ok`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Every POST to /hook/ok per key, whatever it answered.
    pub deliveries: HashMap<String, u32>,
    /// Keys whose effect was applied (once each).
    pub applied: HashMap<String, u32>,
    /// Deliveries that arrived after the key's effect was already applied:
    /// a resend of something that had happened.
    pub resent_after_applied: u32,
    /// Compensation requests per key, and the order they first came in.
    pub undos: HashMap<String, u32>,
    pub undo_order: Vec<String>,
    pub notices: Vec<serde_json::Value>,
    /// Notices refused once with a 429 before being taken.
    pub notices_refused: u32,
    /// The Authorization header of each delivery to /hook/ok that had one.
    pub authorization: Vec<String>,
}

/// Which faults to inject, as probabilities per delivery.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    pub server_error: f64,
    pub rate_limited: f64,
    /// Apply, then answer only after `hang`: longer than the client waits.
    pub hang_after_apply: f64,
    pub hang: Duration,
}

struct Inner {
    tally: Mutex<Tally>,
    rng: Mutex<StdRng>,
    faults: Faults,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

fn key_of(headers: &HeaderMap) -> String {
    headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

async fn hook_ok(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let key = key_of(&headers);
    if let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        inner.tally.lock().unwrap().authorization.push(auth.to_owned());
    }
    let roll: f64 = inner.rng.lock().unwrap().r#gen();
    let f = inner.faults;
    let already = {
        let mut t = inner.tally.lock().unwrap();
        *t.deliveries.entry(key.clone()).or_default() += 1;
        let already = t.applied.contains_key(&key);
        if already {
            t.resent_after_applied += 1;
        }
        already
    };
    if !already && roll < f.server_error {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    if !already && roll < f.server_error + f.rate_limited {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0.05")]).into_response();
    }
    inner.tally.lock().unwrap().applied.entry(key).or_insert(1);
    if roll < f.server_error + f.rate_limited + f.hang_after_apply {
        tokio::time::sleep(f.hang).await;
    }
    // Like many services, it echoes what it was sent (here, the credential).
    let echo = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (StatusCode::OK, axum::Json(serde_json::json!({"ok": true, "authorization": echo}))).into_response()
}

async fn hook_fail() -> StatusCode {
    StatusCode::UNPROCESSABLE_ENTITY
}

async fn undo(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> StatusCode {
    let key = key_of(&headers);
    let mut t = inner.tally.lock().unwrap();
    if !t.undos.contains_key(&key) {
        t.undo_order.push(key.clone());
    }
    *t.undos.entry(key).or_default() += 1;
    StatusCode::OK
}

async fn hook_unavailable() -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

/// Applies, then never answers in time; and has no status to ask.
async fn hook_blackhole(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> StatusCode {
    inner.tally.lock().unwrap().applied.entry(key_of(&headers)).or_insert(1);
    tokio::time::sleep(Duration::from_secs(30)).await;
    StatusCode::OK
}

async fn status(State(inner): State<Arc<Inner>>, Path(key): Path<String>) -> StatusCode {
    if inner.tally.lock().unwrap().applied.contains_key(&key) { StatusCode::OK } else { StatusCode::NOT_FOUND }
}

async fn notify(State(inner): State<Arc<Inner>>, axum::Json(v): axum::Json<serde_json::Value>) -> StatusCode {
    inner.tally.lock().unwrap().notices.push(v);
    StatusCode::OK
}

/// The first delivery of each key gets a 429 with `Retry-After: {value}`
/// (whatever it is: `NaN`, `-1`, garbage); later ones apply.
async fn hook_retry_after(State(inner): State<Arc<Inner>>, Path(value): Path<String>, headers: HeaderMap) -> Response {
    let key = key_of(&headers);
    let mut t = inner.tally.lock().unwrap();
    let n = t.deliveries.entry(key.clone()).or_default();
    *n += 1;
    if *n == 1 {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", value)]).into_response();
    }
    t.applied.entry(key).or_insert(1);
    (StatusCode::OK, axum::Json(serde_json::json!({"ok": true}))).into_response()
}

/// Refuses every other notice with a 429 and `Retry-After: {value}`.
async fn notify_retry_after(
    State(inner): State<Arc<Inner>>,
    Path(value): Path<String>,
    axum::Json(v): axum::Json<serde_json::Value>,
) -> Response {
    let mut t = inner.tally.lock().unwrap();
    if t.notices_refused <= t.notices.len() as u32 {
        t.notices_refused += 1;
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", value)]).into_response();
    }
    t.notices.push(v);
    StatusCode::OK.into_response()
}

/// Answers with a redirect to `/hook/ok`, applying nothing.
async fn hook_redirect(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    *inner.tally.lock().unwrap().deliveries.entry(key_of(&headers)).or_default() += 1;
    (StatusCode::TEMPORARY_REDIRECT, [("location", "/hook/ok")]).into_response()
}

impl Receiver {
    /// Starts the receiver on a free loopback port, in the current runtime.
    pub async fn start(faults: Faults, seed: u64) -> Self {
        let inner = Arc::new(Inner { tally: Mutex::default(), rng: Mutex::new(StdRng::seed_from_u64(seed)), faults });
        let app = Router::new()
            .route("/hook/ok", post(hook_ok))
            .route("/hook/fail", post(hook_fail))
            .route("/hook/unavailable", post(hook_unavailable))
            .route("/hook/blackhole", post(hook_blackhole))
            .route("/undo", post(undo))
            .route("/status/{key}", get(status))
            .route("/notify", post(notify))
            .route("/hook/retry-after/{value}", post(hook_retry_after))
            .route("/notify/retry-after/{value}", post(notify_retry_after))
            .route("/hook/redirect", post(hook_redirect))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, inner }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn tally(&self) -> Tally {
        self.inner.tally.lock().unwrap().clone()
    }

    /// A webhook step that this receiver applies (or, with `fail`, refuses
    /// for good), with reconcile and compensation wired to it.
    pub fn step(&self, fail: bool) -> serde_json::Value {
        self.step_to(if fail { "/hook/fail" } else { "/hook/ok" })
    }

    pub fn step_to(&self, path: &str) -> serde_json::Value {
        serde_json::json!({
            "adapter": "webhook",
            "action": "call",
            "args": {
                "url": self.url(path),
                "body": {"hello": "world"},
                "status_url": self.url("/status/{key}"),
                "compensate": {"url": self.url("/undo")}
            }
        })
    }
}
