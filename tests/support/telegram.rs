//! A Telegram Bot API stand-in on loopback: `/bot<TOKEN>/<method>` with the
//! documented JSON (getMe with all its fields, long-poll getUpdates with
//! offset and timeout, callback_query with chat_instance, sendMessage and
//! editMessageText returning a Message). It checks what the real API
//! checks and a bot can get wrong: the 4,096-unit limit, Telegram's HTML
//! subset (an unknown or unmatched tag, a bare `&`, is a 400), callback data
//! over 64 bytes, editing a message that is not there or not changed.
//!
//! A test pushes updates (a user's message, a button press), injects faults
//! per method (429 with retry_after, 500, 409, slow answers, a 400 for the
//! HTML), and reads back what the bot did.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Notify;

pub const BOT_ID: u64 = 777_000;

#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 Too Many Requests with `retry_after` seconds.
    TooMany(u32),
    /// 500 Internal Server Error.
    ServerError,
    /// 409: another getUpdates is running.
    Conflict,
    /// Answer normally, after this long.
    Slow(Duration),
    /// 400: the HTML could not be parsed (whatever was sent).
    BadHtml,
    /// 200 with a well-formed answer padded to this many bytes (a broken
    /// or hostile server).
    Huge(usize),
}

/// A message the bot sent, as it stands now (edits applied).
#[derive(Debug, Clone)]
pub struct Sent {
    pub chat: i64,
    pub message_id: i64,
    /// What a person sees: markup applied, entities decoded.
    pub text: String,
    pub parse_mode: Option<String>,
    pub reply_markup: Option<Value>,
    /// The keyboard it was first sent with.
    pub first_markup: Option<Value>,
    pub edits: u32,
}

impl Sent {
    /// The callback data of each button, row by row.
    pub fn buttons(&self) -> Vec<String> {
        keyboard(self.reply_markup.as_ref())
    }

    pub fn button(&self, verb: &str) -> Option<String> {
        self.buttons().into_iter().find(|b| b.starts_with(&format!("{verb}:")))
    }

    /// A button of the keyboard the message was first sent with.
    pub fn first_button(&self, verb: &str) -> Option<String> {
        keyboard(self.first_markup.as_ref()).into_iter().find(|b| b.starts_with(&format!("{verb}:")))
    }
}

fn keyboard(markup: Option<&Value>) -> Vec<String> {
    let rows = markup.and_then(|m| m["inline_keyboard"].as_array().cloned()).unwrap_or_default();
    rows.iter()
        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["callback_data"].as_str().map(str::to_owned))
        .collect()
}

#[derive(Default)]
pub struct Inner {
    pub next_update: i64,
    /// Updates not yet confirmed by an offset.
    pub updates: Vec<Value>,
    /// Every update ever pushed, by id, to redeliver one.
    pub all_updates: BTreeMap<i64, Value>,
    /// Updates sent again whatever the offset (a redelivery), once.
    pub forced: Vec<Value>,
    pub next_message: i64,
    /// The bot's messages, in the order sent.
    pub sent: Vec<Sent>,
    pub answers: Vec<Value>,
    /// Every call: (method, parameters).
    pub calls: Vec<(String, Value)>,
    /// When each call came, in the same order.
    pub call_times: Vec<(String, Instant)>,
    pub faults: BTreeMap<String, VecDeque<Fault>>,
    pub commands: Vec<Value>,
    pub polls: u32,
}

#[derive(Clone)]
pub struct FakeTelegram {
    pub addr: SocketAddr,
    pub token: String,
    inner: Arc<Mutex<Inner>>,
    notify: Arc<Notify>,
}

pub struct AppState {
    pub token: String,
    pub inner: Arc<Mutex<Inner>>,
    pub notify: Arc<Notify>,
}

impl FakeTelegram {
    pub async fn start() -> Self {
        let token = "123456:TEST-token-abcdef".to_owned();
        let inner = Arc::new(Mutex::new(Inner { next_update: 1000, next_message: 1, ..Default::default() }));
        let notify = Arc::new(Notify::new());
        let state = Arc::new(AppState { token: token.clone(), inner: inner.clone(), notify: notify.clone() });
        let app = axum::Router::new()
            .route("/{bot}/{method}", axum::routing::any(crate::telegram_api::handle))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Self { addr, token, inner, notify }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn push(&self, mut update: Value) -> i64 {
        let mut inner = self.inner.lock().unwrap();
        inner.next_update += 1;
        let id = inner.next_update;
        update["update_id"] = json!(id);
        inner.updates.push(update.clone());
        inner.all_updates.insert(id, update);
        drop(inner);
        self.notify.notify_waiters();
        id
    }

    /// A user's text message in a private chat (chat id = user id).
    pub fn message(&self, user: i64, text: &str) -> i64 {
        let mid = {
            let mut inner = self.inner.lock().unwrap();
            inner.next_message += 1;
            inner.next_message
        };
        self.push(json!({"message": {
            "message_id": mid,
            "from": person(user),
            "chat": {"id": user, "type": "private", "first_name": format!("User{user}")},
            "date": now(),
            "text": text,
        }}))
    }

    /// `user` presses the button with `data` under `message`.
    pub fn press(&self, user: i64, message: &Sent, data: &str) -> i64 {
        let msg = message_json(message);
        self.push(json!({"callback_query": {
            "id": format!("cq-{}-{}", user, rand_id()),
            "from": person(user),
            "message": msg,
            "chat_instance": format!("ci-{}", message.chat),
            "data": data,
        }}))
    }

    /// Sends an update again, as Telegram does when it was not confirmed.
    pub fn redeliver(&self, update_id: i64) {
        let mut inner = self.inner.lock().unwrap();
        let u = inner.all_updates[&update_id].clone();
        inner.forced.push(u);
        drop(inner);
        self.notify.notify_waiters();
    }

    pub fn fault(&self, method: &str, fault: Fault) {
        self.inner.lock().unwrap().faults.entry(method.to_ascii_lowercase()).or_default().push_back(fault);
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.inner.lock().unwrap().sent.clone()
    }

    pub fn sent_to(&self, chat: i64) -> Vec<Sent> {
        self.sent().into_iter().filter(|s| s.chat == chat).collect()
    }

    pub fn answers(&self) -> Vec<Value> {
        self.inner.lock().unwrap().answers.clone()
    }

    pub fn calls(&self, method: &str) -> Vec<Value> {
        let method = method.to_ascii_lowercase();
        self.inner.lock().unwrap().calls.iter().filter(|(m, _)| *m == method).map(|(_, p)| p.clone()).collect()
    }

    /// When each call of `method` came.
    pub fn call_times(&self, method: &str) -> Vec<Instant> {
        let method = method.to_ascii_lowercase();
        self.inner.lock().unwrap().call_times.iter().filter(|(m, _)| *m == method).map(|(_, t)| *t).collect()
    }

    pub fn commands(&self) -> Vec<Value> {
        self.inner.lock().unwrap().commands.clone()
    }

    /// How many updates are pushed (or redelivered) but not yet confirmed.
    pub fn unconfirmed(&self) -> usize {
        let inner = self.inner.lock().unwrap();
        inner.updates.len() + inner.forced.len()
    }

    /// Waits (up to `secs`) until `f` finds something in the state.
    pub async fn wait<T>(&self, secs: u64, what: &str, f: impl Fn(&FakeTelegram) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(t) = f(self) {
                return t;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; sent: {:#?}", self.sent());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits for the `n`th (1-based) message to `chat`.
    pub async fn nth_to(&self, chat: i64, n: usize) -> Sent {
        self.wait(20, &format!("message {n} to {chat}"), |t| t.sent_to(chat).get(n - 1).cloned()).await
    }

    /// The callback query id of a press.
    pub fn callback_id(&self, update: i64) -> Value {
        self.inner.lock().unwrap().all_updates[&update]["callback_query"]["id"].clone()
    }

    /// Waits for an answer to the callback query of `update`.
    pub async fn answer_to(&self, update: i64) -> Value {
        let cq = self.inner.lock().unwrap().all_updates[&update]["callback_query"]["id"].clone();
        self.wait(20, "a callback answer", |t| t.answers().into_iter().find(|a| a["callback_query_id"] == cq)).await
    }
}

fn person(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": format!("User{id}"), "language_code": "en"})
}

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "Steward", "username": "steward_test_bot"})
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

pub fn message_json(s: &Sent) -> Value {
    let mut m = json!({
        "message_id": s.message_id,
        "from": bot_user(),
        "chat": {"id": s.chat, "type": "private", "first_name": format!("User{}", s.chat)},
        "date": now(),
        "text": s.text,
    });
    if s.edits > 0 {
        m["edit_date"] = json!(now());
    }
    if let Some(k) = &s.reply_markup {
        m["reply_markup"] = k.clone();
    }
    m
}
