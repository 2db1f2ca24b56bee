//! A scripted OpenAI-compatible server on 127.0.0.1: `POST
//! /v1/chat/completions` answers with the next queued response, records
//! every request, and can inject faults (429 with Retry-After, 500, a delay
//! past the client's timeout, a body that is not JSON, JSON cut off at
//! `max_tokens`), can honour only `max_tokens` as llama.cpp's server
//! does, and can write like a small model that keeps to a shape only when
//! a grammar holds it to one. Like OpenAI it caches prompts: a prompt that
//! begins as an earlier one did reports that prefix as
//! `prompt_tokens_details.cached_tokens` (from 1,024 tokens, in steps of
//! 128; a test can lower both, as llama.cpp's slots cache any prefix).
//! `GET /v1/models` lists one model. With the queue empty it
//! asks the responder, if one is set, or answers 500 so a test that asked
//! for more than it scripted fails loudly.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A completion whose message content is this text (usually JSON).
    Content(String),
    /// An HTTP error with an OpenAI-style error body; `retry_after` in s.
    Status { code: u16, retry_after: Option<u64> },
    /// Wait, then answer.
    Delay(Duration, Box<Reply>),
    /// 200 with a body that is not a chat completion.
    Garbage(String),
    /// The content cut off, `finish_reason: "length"`.
    Truncated(String),
}

impl Reply {
    pub fn json(v: Value) -> Self {
        Self::Content(v.to_string())
    }
}

type Responder = Arc<dyn Fn(&Value) -> Reply + Send + Sync>;

#[derive(Default)]
struct Inner {
    queue: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Value>>,
    responder: Mutex<Option<Responder>>,
    /// Like llama.cpp's server: the output is cut at `max_tokens`, and
    /// `max_completion_tokens` is ignored (no cap: the whole answer).
    only_max_tokens: std::sync::atomic::AtomicBool,
    /// Like a small model behind a server with grammars: the scripted JSON
    /// comes out as asked only under `response_format: json_schema` whose
    /// schema requires no key the JSON lacks. In JSON mode the model
    /// writes some JSON object of its own; with no format, chatty prose.
    small_model: std::sync::atomic::AtomicBool,
    /// The prompts seen so far, and the cache's rule: a prefix counts from
    /// `.0` tokens, rounded down to a multiple of `.1`.
    prompts: Mutex<Vec<String>>,
    cache_rule: Mutex<Option<(u64, u64)>>,
}

/// A request's prompt as one text: each message's role and content, in order.
fn prompt_text(request: &Value) -> String {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    messages
        .iter()
        .map(|m| format!("<{}>{}", m["role"].as_str().unwrap_or(""), m["content"].as_str().unwrap_or("")))
        .collect()
}

impl Inner {
    /// The tokens of `prompt` an earlier prompt's prefix caches; then
    /// remembers `prompt`.
    fn cached(&self, prompt: String) -> u64 {
        let (min, step) = self.cache_rule.lock().unwrap().unwrap_or((1024, 128));
        let mut seen = self.prompts.lock().unwrap();
        let longest = seen
            .iter()
            .map(|p| p.chars().zip(prompt.chars()).take_while(|(a, b)| a == b).count() as u64)
            .max()
            .unwrap_or(0);
        // A cache holds what was asked lately, not everything.
        if seen.len() == 256 {
            seen.remove(0);
        }
        seen.push(prompt);
        let tokens = longest / 4 / step.max(1) * step.max(1);
        if tokens >= min { tokens } else { 0 }
    }
}

/// What a small model writes for `content` when nothing holds it to the
/// shape asked for, as `request`'s `response_format` allows.
fn unconstrained(request: &Value, content: String) -> String {
    let format = &request["response_format"];
    match format["type"].as_str() {
        Some("json_schema") => {
            let wanted = format["json_schema"]["schema"]["required"].as_array().cloned().unwrap_or_default();
            let written: Value = serde_json::from_str(&content).unwrap_or(Value::Null);
            let fits = !wanted.is_empty() && wanted.iter().filter_map(Value::as_str).all(|k| written.get(k).is_some());
            if fits { content } else { json!({"response": content}).to_string() }
        }
        Some("json_object") => json!({"response": content}).to_string(),
        _ => format!("Sure! Here is what you asked for:\n{content}\nLet me know if you need anything else."),
    }
}

#[derive(Clone)]
pub struct ScriptedLlm {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

/// ~4 characters a token, as the server counts usage.
pub fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

fn completion(model: &str, content: &str, (prompt_tokens, cached): (u64, u64), finish: &str) -> Value {
    let completion_tokens = tokens(content);
    let cached = cached.min(prompt_tokens);
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 1_764_000_000u32,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish, "logprobs": null}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens,
                  "prompt_tokens_details": {"cached_tokens": cached}}
    })
}

fn answer(reply: Reply, request: &Value, cached: u64) -> std::pin::Pin<Box<dyn Future<Output = Response> + Send>> {
    let model = request["model"].as_str().unwrap_or("scripted").to_owned();
    let prompt: u64 = request["messages"]
        .as_array()
        .map(|m| m.iter().map(|m| tokens(m["content"].as_str().unwrap_or(""))).sum())
        .unwrap_or(0);
    let prompt = (prompt, cached);
    let request = request.clone();
    Box::pin(async move {
        match reply {
            Reply::Content(c) => Json(completion(&model, &c, prompt, "stop")).into_response(),
            Reply::Truncated(c) => Json(completion(&model, &c, prompt, "length")).into_response(),
            Reply::Garbage(body) => (StatusCode::OK, body).into_response(),
            Reply::Status { code, retry_after } => {
                let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let body = json!({"error": {"message": format!("scripted {code}"), "type": "scripted", "param": null, "code": null}});
                let mut r = (status, Json(body)).into_response();
                if let Some(s) = retry_after {
                    r.headers_mut().insert("retry-after", s.to_string().parse().unwrap());
                }
                r
            }
            Reply::Delay(d, then) => {
                tokio::time::sleep(d).await;
                answer(*then, &request, cached).await
            }
        }
    })
}

async fn chat(State(inner): State<Arc<Inner>>, Json(request): Json<Value>) -> Response {
    inner.requests.lock().unwrap().push(request.clone());
    let next = inner.queue.lock().unwrap().pop_front();
    let reply = match next {
        Some(r) => r,
        None => match inner.responder.lock().unwrap().clone() {
            Some(f) => f(&request),
            None => Reply::Status { code: 500, retry_after: None },
        },
    };
    let reply = match reply {
        Reply::Content(c) if inner.only_max_tokens.load(std::sync::atomic::Ordering::Relaxed) => {
            match request["max_tokens"].as_u64() {
                Some(cap) if tokens(&c) > cap => Reply::Truncated(c.chars().take(cap as usize * 4).collect()),
                _ => Reply::Content(c),
            }
        }
        other => other,
    };
    let reply = match reply {
        Reply::Content(c) if inner.small_model.load(std::sync::atomic::Ordering::Relaxed) => {
            Reply::Content(unconstrained(&request, c))
        }
        other => other,
    };
    let cached = inner.cached(prompt_text(&request));
    answer(reply, &request, cached).await
}

impl ScriptedLlm {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/models", get(|| async { Json(json!({"object": "list", "data": [{"id": "scripted", "object": "model", "created": 0, "owned_by": "tests"}]})) }))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, inner }
    }

    /// The base URL to configure (`…/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn push(&self, reply: Reply) {
        self.inner.queue.lock().unwrap().push_back(reply);
    }

    /// Honour only `max_tokens`, as llama.cpp's server does.
    pub fn honour_only_max_tokens(&self) {
        self.inner.only_max_tokens.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Write like a small model: the shape asked for only under a schema.
    pub fn write_like_a_small_model(&self) {
        self.inner.small_model.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Cache prompt prefixes from `min` tokens, in steps of `step` (OpenAI:
    /// 1,024 and 128).
    pub fn cache_prefixes(&self, min: u64, step: u64) {
        *self.inner.cache_rule.lock().unwrap() = Some((min, step));
    }

    pub fn respond_with(&self, f: impl Fn(&Value) -> Reply + Send + Sync + 'static) {
        *self.inner.responder.lock().unwrap() = Some(Arc::new(f));
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.inner.requests.lock().unwrap().clone()
    }

    pub fn calls(&self) -> usize {
        self.inner.requests.lock().unwrap().len()
    }

    /// The user message of request `i`.
    pub fn user_message(&self, i: usize) -> String {
        let r = &self.requests()[i];
        r["messages"][1]["content"].as_str().unwrap_or("").to_owned()
    }
}
