//! The `webhook` adapter: an HTTP call that carries the step's key as an
//! `Idempotency-Key` header.
//!
//! Arguments of action `call`:
//! - `url` (required), `method` (`POST` by default), `body` (JSON), `headers`;
//! - `status_url`: asked by reconcile; `{key}` in it is replaced by the key.
//!   200 means the effect happened, 404 that it did not;
//! - `compensate`: `{url, method, body}`, the request that undoes the call,
//!   sent with the key `<key>-compensate`.
//!
//! 2xx succeeds; 429 retries after `Retry-After`; 408 and 5xx retry; other
//! 4xx are final. A refused connection sent nothing and retries; a timeout
//! or a dropped connection after sending is ambiguous, and reconcile decides.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ActionSpec, Adapter, AdapterError, Description, Reconciled};
use crate::domain::{IdempotencyKey, InvalidInput, RetryPolicy};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// How long one request may take before its outcome counts as unknown.
    pub timeout_ms: u64,
    pub retry: RetryPolicy,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self { timeout_ms: 10_000, retry: RetryPolicy::default() }
    }
}

pub struct WebhookAdapter {
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallArgs {
    #[serde(flatten)]
    request: Request,
    #[serde(default)]
    status_url: Option<String>,
    #[serde(default)]
    compensate: Option<Request>,
}

fn parse_args(args: &Value) -> Result<CallArgs, InvalidInput> {
    let parsed: CallArgs =
        serde_json::from_value(args.clone()).map_err(|e| InvalidInput::new("args", e.to_string()))?;
    check_request("args", &parsed.request)?;
    if let Some(c) = &parsed.compensate {
        check_request("args.compensate", c)?;
    }
    if let Some(s) = &parsed.status_url {
        check_url("args.status_url", &s.replace("{key}", "k"))?;
    }
    Ok(parsed)
}

fn check_url(field: &str, url: &str) -> Result<Url, InvalidInput> {
    let parsed = Url::parse(url).map_err(|e| InvalidInput::new(field, format!("`{url}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(InvalidInput::new(field, "only http and https URLs are allowed"));
    }
    Ok(parsed)
}

fn method_of(field: &str, r: &Request) -> Result<Method, InvalidInput> {
    let m = r.method.as_deref().unwrap_or("POST").to_ascii_uppercase();
    match m.as_str() {
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE" => Ok(m.parse().expect("a known method")),
        _ => Err(InvalidInput::new(
            format!("{field}.method"),
            format!("`{m}` is not one of GET, POST, PUT, PATCH, DELETE"),
        )),
    }
}

fn check_request(field: &str, r: &Request) -> Result<(), InvalidInput> {
    check_url(&format!("{field}.url"), &r.url)?;
    method_of(field, r)?;
    Ok(())
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    let secs = headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok());
    Duration::from_secs_f64(secs.unwrap_or(1.0).clamp(0.0, 3600.0))
}

impl WebhookAdapter {
    pub fn new(config: &WebhookConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .connect_timeout(Duration::from_millis(config.timeout_ms.min(5_000)))
            .build()
            .expect("a reqwest client with rustls builds");
        Self { http }
    }

    async fn send(&self, request: &Request, key: &str) -> Result<Value, AdapterError> {
        let method = method_of("args", request).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        let mut builder = self.http.request(method, &request.url).header("Idempotency-Key", key);
        for (k, v) in &request.headers {
            builder = builder.header(k, v);
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let response = builder.send().await.map_err(|e| {
            let e = e.without_url();
            if e.is_connect() { AdapterError::Transient(e.to_string()) } else { AdapterError::Ambiguous(e.to_string()) }
        })?;
        let status = response.status();
        match status {
            s if s.is_success() => {
                let text = response.text().await.unwrap_or_default();
                let body = serde_json::from_str::<Value>(&text)
                    .unwrap_or_else(|_| json!(text.chars().take(4096).collect::<String>()));
                Ok(json!({"status": status.as_u16(), "body": body}))
            }
            StatusCode::TOO_MANY_REQUESTS => Err(AdapterError::RetryAfter(retry_after(response.headers()))),
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                Err(AdapterError::Transient(format!("HTTP {s}")))
            }
            s => Err(AdapterError::Permanent(format!("HTTP {s}"))),
        }
    }
}

#[async_trait]
impl Adapter for WebhookAdapter {
    fn describe(&self) -> Description {
        Description {
            name: "webhook",
            actions: vec![ActionSpec {
                name: "call",
                args_schema: json!({
                    "type": "object",
                    "required": ["url"],
                    "properties": {
                        "url": {"type": "string", "format": "uri"},
                        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                        "body": {},
                        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                        "status_url": {"type": "string"},
                        "compensate": {"type": "object", "required": ["url"]}
                    },
                    "additionalProperties": false
                }),
                can_compensate: true,
                can_reconcile: true,
            }],
        }
    }

    fn validate(&self, _action: &str, args: &Value) -> Result<(), InvalidInput> {
        parse_args(args).map(|_| ())
    }

    async fn execute(&self, key: &IdempotencyKey, _action: &str, args: &Value) -> Result<Value, AdapterError> {
        let args = parse_args(args).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        self.send(&args.request, key.as_str()).await
    }

    async fn compensate(
        &self,
        key: &IdempotencyKey,
        _action: &str,
        args: &Value,
        _result: Option<&Value>,
    ) -> Result<Value, AdapterError> {
        let args = parse_args(args).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        let Some(undo) = &args.compensate else { return Ok(json!({"compensation": "none"})) };
        // The undo request carries its own stable key, so resending it after a
        // timeout is as safe as the receiver's idempotency makes it.
        match self.send(undo, &format!("{key}-compensate")).await {
            Err(AdapterError::Ambiguous(e)) => Err(AdapterError::Transient(e)),
            other => other.map(|r| json!({"compensation": "sent", "response": r})),
        }
    }

    async fn reconcile(&self, key: &IdempotencyKey, _action: &str, args: &Value) -> Reconciled {
        let Ok(args) = parse_args(args) else { return Reconciled::CannotTell("invalid arguments".into()) };
        let Some(status_url) = args.status_url else {
            return Reconciled::CannotTell("the call has no status_url to ask".into());
        };
        let url = status_url.replace("{key}", key.as_str());
        match self.http.get(url).header("Idempotency-Key", key.as_str()).send().await {
            Ok(r) if r.status().is_success() => Reconciled::Happened(r.json().await.unwrap_or(json!({}))),
            Ok(r) if r.status() == StatusCode::NOT_FOUND => Reconciled::NotHappened,
            Ok(r) => Reconciled::CannotTell(format!("status_url answered HTTP {}", r.status())),
            Err(e) => Reconciled::CannotTell(format!("status_url unreachable: {}", e.without_url())),
        }
    }
}
