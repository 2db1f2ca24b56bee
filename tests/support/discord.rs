//! A Discord REST and gateway stand-in on loopback that serenity connects
//! to. REST: `GET /api/v10/gateway` (pointing at the websocket below), the
//! interaction callback (204), message create and edit and the interaction
//! webhook routes returning full Message objects, bulk guild command
//! registration, `users/@me`. Gateway: HELLO (op 10) → IDENTIFY (op 2) →
//! READY, a sequence number on every dispatch (op 0), heartbeat (op 1) →
//! ack (op 11), RESUME (op 6) replaying what the session missed, and
//! RECONNECT (op 7) on demand.
//!
//! Every REST write is recorded, so a test can assert what the bot said.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Ws;

pub const APP: u64 = 900_000_000_000_000_001;
pub const BOT: u64 = 900_000_000_000_000_001;
pub const GUILD: u64 = 800_000_000_000_000_001;
pub const CHANNEL: u64 = 700_000_000_000_000_001;

/// A REST write the bot made.
#[derive(Debug, Clone)]
pub struct Write {
    pub method: String,
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    writes: Vec<Write>,
    /// Messages by id, as they stand (edits applied).
    messages: BTreeMap<u64, Value>,
    next_id: u64,
    /// Every dispatch of the session: (seq, event name, data).
    log: Vec<(u64, String, Value)>,
    /// The live connection's sender, if any.
    live: Option<mpsc::UnboundedSender<Ws>>,
    identifies: u32,
    resumes: u32,
    heartbeats: u32,
    /// Faults for the next message creates: a 429 with this `retry_after`
    /// (seconds), or (negative) a 200 whose body is that many bytes.
    limited: VecDeque<f64>,
    /// Whether to hold dispatches back (as if the socket were down).
    hold: bool,
    /// Interaction tokens acknowledged; an answer to any other is refused
    /// with 404 Unknown Webhook, as Discord does.
    acked: std::collections::HashSet<String>,
    /// Whether acknowledgements are lost (answered 503 and forgotten), as
    /// when steward dies before its ack reaches Discord.
    lose_acks: bool,
}

#[derive(Clone)]
pub struct FakeDiscord {
    pub addr: SocketAddr,
    pub ws: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeDiscord {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner { next_id: 1_000, ..Default::default() }));
        let ws_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws = ws_listener.local_addr().unwrap();
        let state = (inner.clone(), ws);
        let app = axum::Router::new().fallback(rest).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        let g = inner.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = ws_listener.accept().await {
                tokio::spawn(gateway(stream, g.clone(), ws));
            }
        });
        Self { addr, ws, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn next_id(&self) -> u64 {
        let mut inner = self.inner.lock().unwrap();
        inner.next_id += 1;
        inner.next_id
    }

    /// Sends a dispatch now, or keeps it for the session's RESUME when the
    /// socket is down or held.
    pub fn dispatch(&self, t: &str, d: Value) -> u64 {
        let mut inner = self.inner.lock().unwrap();
        let seq = inner.log.len() as u64 + 1;
        inner.log.push((seq, t.to_owned(), d.clone()));
        if !inner.hold {
            if let Some(live) = &inner.live {
                let _ = live.send(Ws::Text(json!({"op": 0, "t": t, "s": seq, "d": d}).to_string()));
            }
        }
        seq
    }

    /// A slash command from `user` in the test channel.
    pub fn command(&self, user: u64, name: &str, option: Option<(&str, &str)>) -> String {
        let id = self.next_id().to_string();
        let options: Vec<Value> = option.into_iter().map(|(n, v)| json!({"name": n, "type": 3, "value": v})).collect();
        let data = json!({"id": "555", "name": name, "type": 1, "options": options, "guild_id": GUILD.to_string()});
        self.dispatch("INTERACTION_CREATE", interaction(&id, 2, user, data, None));
        id
    }

    /// `user` presses the button `custom_id` under `message`.
    pub fn press(&self, user: u64, message: &Value, custom_id: &str) -> String {
        let id = self.next_id().to_string();
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.dispatch("INTERACTION_CREATE", interaction(&id, 3, user, data, Some(message.clone())));
        id
    }

    /// A guild message from `user` mentioning the bot.
    pub fn mention(&self, user: u64, text: &str) -> String {
        let id = self.next_id().to_string();
        let mut m = message(id.parse().unwrap(), CHANNEL, user_json(user, false), &format!("<@{BOT}> {text}"));
        m["mentions"] = json!([user_json(BOT, true)]);
        m["guild_id"] = json!(GUILD.to_string());
        self.dispatch("MESSAGE_CREATE", m);
        id
    }

    /// Dispatches an interaction again, as a replay after a resume can.
    pub fn redispatch(&self, interaction: &str) {
        let d = {
            let inner = self.inner.lock().unwrap();
            inner.log.iter().find(|(_, _, d)| d["id"] == interaction).map(|(_, _, d)| d.clone()).unwrap()
        };
        self.dispatch("INTERACTION_CREATE", d);
    }

    /// Asks the bot to reconnect (op 7) and drops the socket.
    pub fn force_reconnect(&self) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(live) = inner.live.take() {
            let _ = live.send(Ws::Text(json!({"op": 7, "d": null}).to_string()));
            let _ = live.send(Ws::Close(None));
        }
    }

    /// Holds dispatches back (they are logged and replayed on RESUME).
    pub fn hold(&self, on: bool) {
        self.inner.lock().unwrap().hold = on;
    }

    /// Loses every acknowledgement from now on (or no longer, with false).
    pub fn lose_acks(&self, on: bool) {
        self.inner.lock().unwrap().lose_acks = on;
    }

    pub fn rate_limit_next_create(&self, retry_after: f64) {
        self.inner.lock().unwrap().limited.push_back(retry_after);
    }

    /// The next message create is answered 200 with a body of `bytes`.
    pub fn oversize_next_create(&self, bytes: usize) {
        self.inner.lock().unwrap().limited.push_back(-(bytes as f64));
    }

    pub fn writes(&self) -> Vec<Write> {
        self.inner.lock().unwrap().writes.clone()
    }

    pub fn message(&self, id: &str) -> Option<Value> {
        self.inner.lock().unwrap().messages.get(&id.parse().ok()?).cloned()
    }

    /// Messages the bot created in the channel (not interaction answers).
    pub fn channel_messages(&self) -> Vec<Value> {
        let inner = self.inner.lock().unwrap();
        inner.messages.values().filter(|m| m["webhook_id"].is_null()).cloned().collect()
    }

    pub fn counts(&self) -> (u32, u32, u32) {
        let inner = self.inner.lock().unwrap();
        (inner.identifies, inner.resumes, inner.heartbeats)
    }

    /// The answers to an interaction: its edited original and follow-ups.
    pub fn answers(&self, interaction_token: &str) -> Vec<Write> {
        self.writes().into_iter().filter(|w| w.path.contains(&format!("/webhooks/{APP}/{interaction_token}"))).collect()
    }

    pub async fn wait<T>(&self, secs: u64, what: &str, f: impl Fn(&FakeDiscord) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(t) = f(self) {
                return t;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; writes: {:#?}", self.writes());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until the gateway session is ready (READY sent).
    pub async fn ready(&self) {
        self.wait(30, "the bot to identify", |d| {
            (d.counts().0 > 0 && d.inner.lock().unwrap().live.is_some()).then_some(())
        })
        .await;
    }
}

pub fn token_of(interaction: &str) -> String {
    format!("itok-{interaction}")
}

fn user_json(id: u64, bot: bool) -> Value {
    json!({"id": id.to_string(), "username": format!("user{id}"), "discriminator": "0", "global_name": null,
           "avatar": null, "bot": bot})
}

fn ts() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

fn message(id: u64, channel: u64, author: Value, content: &str) -> Value {
    json!({
        "id": id.to_string(), "channel_id": channel.to_string(), "author": author, "content": content,
        "timestamp": ts(), "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
        "mention_roles": [], "attachments": [], "embeds": [], "components": [], "pinned": false, "type": 0,
    })
}

fn interaction(id: &str, kind: u8, user: u64, data: Value, message: Option<Value>) -> Value {
    let mut i = json!({
        "id": id, "application_id": APP.to_string(), "type": kind, "data": data,
        "guild_id": GUILD.to_string(), "channel_id": CHANNEL.to_string(),
        "member": {"user": user_json(user, false), "roles": [], "joined_at": ts(), "deaf": false, "mute": false,
                   "flags": 0, "permissions": "2147483647"},
        "token": token_of(id), "version": 1, "app_permissions": "2147483647", "locale": "en-US",
        "guild_locale": "en-US", "entitlements": [], "authorizing_integration_owners": {}, "context": 0,
        "attachment_size_limit": 8_388_608,
    });
    if let Some(m) = message {
        i["message"] = m;
    }
    i
}

type RestState = (Arc<Mutex<Inner>>, SocketAddr);

async fn rest(State((inner, ws)): State<RestState>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(route) = path.strip_prefix("/api/v10/") else {
        return (StatusCode::NOT_FOUND, Json(json!({"message": "404: Not Found", "code": 0}))).into_response();
    };
    let parts: Vec<&str> = route.split('/').collect();
    if method != Method::GET {
        inner.lock().unwrap().writes.push(Write { method: method.to_string(), path: path.clone(), body: body.clone() });
    }
    let mut i = inner.lock().unwrap();
    let bot = user_json(BOT, true);
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["gateway"]) => Json(json!({"url": format!("ws://{ws}")})).into_response(),
        ("GET", ["gateway", "bot"]) => Json(json!({"url": format!("ws://{ws}"), "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}))
        .into_response(),
        ("GET", ["users", "@me"]) => Json(bot).into_response(),
        ("PUT", ["applications", app, "guilds", guild, "commands"]) => {
            let out: Vec<Value> = body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(n, mut c)| {
                    c["id"] = json!(format!("{}", 600 + n));
                    c["application_id"] = json!(app);
                    c["guild_id"] = json!(guild);
                    c["version"] = json!("1");
                    c["default_member_permissions"] = Value::Null;
                    c
                })
                .collect();
            Json(json!(out)).into_response()
        }
        ("POST", ["interactions", _, token, "callback"]) => {
            if i.lose_acks {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            i.acked.insert((*token).to_owned());
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["channels", channel, "messages"]) => {
            if let Some(bytes) = i.limited.front().copied().filter(|f| *f < 0.0) {
                i.limited.pop_front();
                return Json(json!({"id": "1", "content": "x".repeat(-bytes as usize)})).into_response();
            }
            if let Some(after) = i.limited.pop_front() {
                let r =
                    json!({"message": "You are being rate limited.", "retry_after": after, "global": false, "code": 0});
                return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", format!("{}", after.ceil()))], Json(r))
                    .into_response();
            }
            i.next_id += 1;
            let id = i.next_id;
            let mut m = message(id, channel.parse().unwrap_or(0), bot, body["content"].as_str().unwrap_or(""));
            m["embeds"] = body["embeds"].clone().as_array().map(|_| body["embeds"].clone()).unwrap_or(json!([]));
            m["components"] = body["components"].as_array().map(|_| body["components"].clone()).unwrap_or(json!([]));
            if let Some(to) = body["message_reference"]["message_id"].as_str() {
                m["message_reference"] =
                    json!({"type": 0, "message_id": to, "channel_id": channel, "guild_id": GUILD.to_string()});
            }
            i.messages.insert(id, m.clone());
            Json(m).into_response()
        }
        ("PATCH", ["channels", _, "messages", id]) => {
            let Some(m) = id.parse::<u64>().ok().and_then(|id| i.messages.get_mut(&id)) else {
                return (StatusCode::NOT_FOUND, Json(json!({"message": "Unknown Message", "code": 10008})))
                    .into_response();
            };
            for k in ["content", "embeds", "components"] {
                if !body[k].is_null() {
                    m[k] = body[k].clone();
                }
            }
            m["edited_timestamp"] = json!(ts());
            Json(m.clone()).into_response()
        }
        ("PATCH", ["webhooks", _, token, "messages", "@original"]) | ("POST", ["webhooks", _, token]) => {
            if !i.acked.contains(*token) {
                return (StatusCode::NOT_FOUND, Json(json!({"message": "Unknown Webhook", "code": 10015})))
                    .into_response();
            }
            i.next_id += 1;
            let id = i.next_id;
            let mut m = message(id, CHANNEL, bot, body["content"].as_str().unwrap_or(""));
            m["embeds"] = if body["embeds"].is_array() { body["embeds"].clone() } else { json!([]) };
            m["webhook_id"] = json!(APP.to_string());
            m["flags"] = body["flags"].clone();
            m["interaction_token"] = json!(token);
            i.messages.insert(id, m.clone());
            m.as_object_mut().unwrap().remove("interaction_token");
            Json(m).into_response()
        }
        _ => (StatusCode::NOT_FOUND, Json(json!({"message": "404: Not Found", "code": 0}))).into_response(),
    }
}

/// One gateway connection.
async fn gateway(stream: tokio::net::TcpStream, inner: Arc<Mutex<Inner>>, ws_addr: SocketAddr) {
    let Ok(socket) = tokio_tungstenite::accept_async(stream).await else { return };
    let (mut sink, mut source) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Ws>();
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let close = matches!(m, Ws::Close(_));
            if sink.send(m).await.is_err() || close {
                break;
            }
        }
    });
    let _ = tx.send(Ws::Text(json!({"op": 10, "d": {"heartbeat_interval": 1000}}).to_string()));
    while let Some(Ok(frame)) = source.next().await {
        let Ws::Text(text) = frame else { continue };
        let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
        let mut i = inner.lock().unwrap();
        match v["op"].as_u64() {
            Some(1) => {
                i.heartbeats += 1;
                let _ = tx.send(Ws::Text(json!({"op": 11}).to_string()));
            }
            Some(2) => {
                i.identifies += 1;
                let seq = i.log.len() as u64 + 1;
                let ready = json!({
                    "v": 10, "user": user_json(BOT, true), "guilds": [{"id": GUILD.to_string(), "unavailable": true}],
                    "session_id": "session-1", "resume_gateway_url": format!("ws://{ws_addr}"), "shard": [0, 1],
                    "application": {"id": APP.to_string(), "flags": 0},
                });
                i.log.push((seq, "READY".into(), ready.clone()));
                let _ = tx.send(Ws::Text(json!({"op": 0, "t": "READY", "s": seq, "d": ready}).to_string()));
                i.live = Some(tx.clone());
            }
            Some(6) => {
                i.resumes += 1;
                let after = v["d"]["seq"].as_u64().unwrap_or(0);
                for (seq, t, d) in i.log.iter().filter(|(s, _, _)| *s > after) {
                    let _ = tx.send(Ws::Text(json!({"op": 0, "t": t, "s": seq, "d": d}).to_string()));
                }
                let seq = i.log.len() as u64 + 1;
                i.log.push((seq, "RESUMED".into(), json!({})));
                let _ = tx.send(Ws::Text(json!({"op": 0, "t": "RESUMED", "s": seq, "d": {}}).to_string()));
                i.live = Some(tx.clone());
                i.hold = false;
            }
            _ => {}
        }
    }
    let mut i = inner.lock().unwrap();
    if i.live.as_ref().is_some_and(|l| l.same_channel(&tx)) {
        i.live = None;
    }
}
