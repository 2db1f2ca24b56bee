//! The `webhook` adapter: an HTTP call that carries the step's key as an
//! `Idempotency-Key` header.
//!
//! Arguments of action `call`:
//! - `url` (required), `method` (`POST` by default), `body` (JSON), `headers`
//!   (a credential only as a named secret: `{"$secret": NAME, "prefix": ..}`);
//! - `status_url`: asked by reconcile; `{key}` in it is replaced by the key.
//!   200 means the effect happened, 404 that it did not;
//! - `compensate`: `{url, method, body}`, the request that undoes the call,
//!   sent with the key `<key>-compensate`.
//!
//! 2xx succeeds; 429 retries after `Retry-After` (read defensively: an
//! unreadable one falls back to the retry policy); 408 and 5xx retry; other
//! 4xx are final. Redirects are not followed: a 3xx is a final outcome, since
//! its target is an address the policy never judged. A host name the policy
//! resolved when it judged the step is resolved again when the step runs,
//! and only addresses of the kinds judged are connected to ([`Reach`]): a
//! name rebound to this machine or a private network after approval fails
//! the step for good. At most 64 KiB of a
//! response is read. A refused connection sent nothing and retries; a timeout
//! or a dropped connection after sending is ambiguous, and reconcile decides.

mod clients;

use std::collections::BTreeMap;

use async_trait::async_trait;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::{Value, json};

use super::secrets::{self, Secrets, Text};
use super::{ActionSpec, Adapter, AdapterError, Description, Reconciled};
use crate::config::WebhookConfig;
use crate::dns::Dns;
use crate::domain::{DestinationArg, IdempotencyKey, InvalidInput, Reach, parse_retry_after};
use crate::store::now_millis;
use clients::Clients;

pub struct WebhookAdapter {
    /// How calls connect: held to what the policy judged.
    clients: Clients,
    /// Named secrets a header may carry; put in only when a request is sent.
    secrets: Secrets,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    body: Option<Value>,
    /// Values written out, or `{"$secret": NAME, "prefix": ...}`.
    #[serde(default)]
    headers: BTreeMap<String, Text>,
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

fn parse_args(args: &Value, secrets: &Secrets) -> Result<CallArgs, InvalidInput> {
    let parsed: CallArgs =
        serde_json::from_value(args.clone()).map_err(|e| InvalidInput::new("args", e.to_string()))?;
    check_request("args", &parsed.request, secrets)?;
    if let Some(c) = &parsed.compensate {
        check_request("args.compensate", c, secrets)?;
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
    let m = r.method.as_deref().unwrap_or("POST").trim().to_ascii_uppercase();
    match m.as_str() {
        "GET" => Ok(Method::GET),
        "POST" => Ok(Method::POST),
        "PUT" => Ok(Method::PUT),
        "PATCH" => Ok(Method::PATCH),
        "DELETE" => Ok(Method::DELETE),
        _ => Err(InvalidInput::new(
            format!("{field}.method"),
            format!("`{m}` is not one of GET, POST, PUT, PATCH, DELETE"),
        )),
    }
}

/// Headers steward sets itself: a plan may not replace them, since the
/// idempotency key is what makes a retry safe.
const RESERVED_HEADERS: [&str; 4] = ["idempotency-key", "host", "content-length", "transfer-encoding"];

/// Every header must be one HTTP can carry, so a bad name is refused when
/// the plan is checked, not found out as a failure at run time. A header
/// that carries credentials must name a secret; the map returned has the
/// secrets put in, marked sensitive, for sending only.
fn check_headers(field: &str, headers: &BTreeMap<String, Text>, secrets: &Secrets) -> Result<HeaderMap, InvalidInput> {
    if headers.len() > 64 {
        return Err(InvalidInput::new(format!("{field}.headers"), "at most 64 headers"));
    }
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let at = format!("{field}.headers.{name}");
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| InvalidInput::new(&at, "not a valid HTTP header name (letters, digits and -)"))?;
        if RESERVED_HEADERS.contains(&parsed.as_str()) {
            return Err(InvalidInput::new(&at, "steward sets this header itself; leave it out"));
        }
        value.check(&at, secrets)?;
        if !value.is_secret() && secrets::credential_header(name) {
            return Err(InvalidInput::new(
                &at,
                "carries a credential, which a plan must not hold; name a secret instead: \
                 {\"$secret\": \"NAME\", \"prefix\": \"Bearer \"}, with the value in secrets.NAME or secret_files.NAME",
            ));
        }
        let text = value.reveal(secrets).unwrap_or_default();
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            let what = if value.is_secret() { "the secret it names is not" } else { "not" };
            InvalidInput::new(&at, format!("{what} a valid HTTP header value (visible ASCII, no line breaks)"))
        })?;
        value.set_sensitive(true);
        map.insert(parsed, value);
    }
    Ok(map)
}

fn check_request(field: &str, r: &Request, secrets: &Secrets) -> Result<(), InvalidInput> {
    check_url(&format!("{field}.url"), &r.url)?;
    method_of(field, r)?;
    check_headers(field, &r.headers, secrets)?;
    Ok(())
}

/// The most of a response body steward reads: enough for any result worth
/// keeping, and a bound on what a hostile server can make it hold.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What a 429 asks: its `Retry-After` when readable, else the retry policy's
/// own backoff.
fn rate_limited(headers: &HeaderMap) -> AdapterError {
    let asked = headers.get("retry-after").and_then(|v| v.to_str().ok());
    match asked.and_then(|v| parse_retry_after(v, now_millis())) {
        Some(wait) => AdapterError::RetryAfter(wait),
        None => AdapterError::Transient(format!(
            "HTTP 429 with an unreadable Retry-After ({}); waiting as the retry policy says",
            asked.map(|v| v.chars().take(40).collect::<String>()).unwrap_or_else(|| "none".into())
        )),
    }
}

impl WebhookAdapter {
    pub fn new(config: &WebhookConfig) -> Self {
        Self { clients: Clients::new(config.timeout_ms, Dns::system()), secrets: Secrets::default() }
    }

    /// Resolves names through `dns`, the resolver the policy judges with.
    pub fn with_dns(mut self, dns: Dns) -> Self {
        self.clients = Clients::new(self.clients.timeout_ms(), dns);
        self
    }

    /// The named secrets a plan's headers may use.
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    async fn send(&self, request: &Request, key: &str, reach: &Reach) -> Result<Value, AdapterError> {
        let method = method_of("args", request).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        let headers = check_headers("args", &request.headers, &self.secrets)
            .map_err(|e| AdapterError::Permanent(e.to_string()))?;
        let http = self.clients.for_url(&request.url, reach).await?;
        let mut builder = http.request(method, &request.url).headers(headers).header("Idempotency-Key", key);
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let response = builder.send().await.map_err(|e| {
            let e = e.without_url();
            if e.is_builder() {
                // Nothing was sent: the request itself cannot be made.
                AdapterError::Permanent(format!("the request cannot be built: {e}"))
            } else if e.is_connect() {
                AdapterError::Transient(e.to_string())
            } else {
                AdapterError::Ambiguous(e.to_string())
            }
        })?;
        let status = response.status();
        match status {
            s if s.is_success() => {
                let (bytes, truncated) = super::read_limited(response, MAX_RESPONSE_BYTES).await;
                // A service that echoes the request (many do) would hand the
                // secret back into the stored result: it is blotted out.
                let mut text = String::from_utf8_lossy(&bytes).into_owned();
                for value in request.headers.values().filter(|v| v.is_secret()).filter_map(|v| v.bare(&self.secrets)) {
                    if value.len() >= 4 {
                        text = text.replace(&value, "[secret]");
                    }
                }
                let body = match serde_json::from_str::<Value>(&text) {
                    Ok(v) if !truncated => v,
                    _ => json!(text.chars().take(4096).collect::<String>()),
                };
                Ok(json!({"status": status.as_u16(), "body": body}))
            }
            s if s.is_redirection() => {
                let to = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("?");
                let to: String = to.chars().take(200).collect();
                Err(AdapterError::Permanent(format!(
                    "HTTP {s}: redirected to {to}; steward does not follow redirects, so give the final address in the plan"
                )))
            }
            StatusCode::TOO_MANY_REQUESTS => Err(rate_limited(response.headers())),
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                Err(AdapterError::Transient(format!("HTTP {s}")))
            }
            s => Err(AdapterError::Permanent(format!("HTTP {s}"))),
        }
    }
}

/// The `webhook` adapter's one action, `call`.
pub fn description() -> Description {
    Description {
        name: "webhook",
        actions: vec![ActionSpec {
            name: "call",
            args_schema: json!({
                "type": "object",
                "required": ["url"],
                "properties": {
                    "url": {"type": "string", "format": "uri"},
                    "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"], "default": "POST"},
                    "body": {},
                    "headers": {"type": "object", "additionalProperties": {"oneOf": [
                        {"type": "string"},
                        {"type": "object", "required": ["$secret"], "properties": {"$secret": {"type": "string"}, "prefix": {"type": "string"}}}
                    ]}},
                    "status_url": {"type": "string"},
                    "compensate": {"type": "object", "required": ["url"]}
                },
                "additionalProperties": false
            }),
            can_compensate: true,
            can_reconcile: true,
            destinations: vec![
                DestinationArg::url("url"),
                DestinationArg::url("status_url"),
                DestinationArg::url("compensate.url"),
            ],
        }],
    }
}

#[async_trait]
impl Adapter for WebhookAdapter {
    fn describe(&self) -> Description {
        description()
    }

    fn validate(&self, _action: &str, args: &Value) -> Result<(), InvalidInput> {
        secrets::refuse_written_credentials("args", args)?;
        parse_args(args, &self.secrets).map(|_| ())
    }

    async fn execute(
        &self,
        key: &IdempotencyKey,
        _action: &str,
        args: &Value,
        reach: &Reach,
    ) -> Result<Value, AdapterError> {
        let args = parse_args(args, &self.secrets).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        self.send(&args.request, key.as_str(), reach).await
    }

    async fn compensate(
        &self,
        key: &IdempotencyKey,
        _action: &str,
        args: &Value,
        _result: Option<&Value>,
        reach: &Reach,
    ) -> Result<Value, AdapterError> {
        let args = parse_args(args, &self.secrets).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        let Some(undo) = &args.compensate else { return Ok(json!({"compensation": "none"})) };
        // The undo request carries its own stable key, so resending it after a
        // timeout is as safe as the receiver's idempotency makes it.
        match self.send(undo, &format!("{key}-compensate"), reach).await {
            Err(AdapterError::Ambiguous(e)) => Err(AdapterError::Transient(e)),
            other => other.map(|r| json!({"compensation": "sent", "response": r})),
        }
    }

    async fn reconcile(&self, key: &IdempotencyKey, _action: &str, args: &Value, reach: &Reach) -> Reconciled {
        let Ok(args) = parse_args(args, &self.secrets) else {
            return Reconciled::CannotTell("invalid arguments".into());
        };
        let Some(status_url) = args.status_url else {
            return Reconciled::CannotTell("the call has no status_url to ask".into());
        };
        let url = status_url.replace("{key}", key.as_str());
        let http = match self.clients.for_url(&url, reach).await {
            Ok(http) => http,
            Err(e) => return Reconciled::CannotTell(format!("status_url not asked: {e}")),
        };
        match http.get(url).header("Idempotency-Key", key.as_str()).send().await {
            Ok(r) if r.status().is_success() => {
                let (bytes, _) = super::read_limited(r, MAX_RESPONSE_BYTES).await;
                Reconciled::Happened(serde_json::from_slice(&bytes).unwrap_or(json!({})))
            }
            Ok(r) if r.status() == StatusCode::NOT_FOUND => Reconciled::NotHappened,
            Ok(r) => Reconciled::CannotTell(format!("status_url answered HTTP {}", r.status())),
            Err(e) => Reconciled::CannotTell(format!("status_url unreachable: {}", e.without_url())),
        }
    }
}
