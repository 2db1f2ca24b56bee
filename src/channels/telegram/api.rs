//! The Bot API over HTTP: teloxide's payloads and types, sent by steward so
//! that an answer is read only up to [`ANSWER_LIMIT`]. teloxide reads every
//! answer whole, so a broken or hostile API server (a self-hosted one, a
//! proxy) could make steward hold gigabytes; here it gets an error instead.
//!
//! Requests are what teloxide sends (`POST {api_url}/bot{token}/{Method}`,
//! a JSON body), and answers map to teloxide's [`RequestError`], so callers
//! match the same errors. Errors never carry the URL: it holds the token.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use teloxide::RequestError;
use teloxide::payloads::GetUpdates;
use teloxide::requests::Payload;
use teloxide::types::{ResponseParameters, Seconds, Update};

use crate::channels::wire::{self, Failed};

/// How long a call may take beyond what it asks Telegram to wait (a long
/// poll's timeout).
const CALL_TIMEOUT: Duration = Duration::from_secs(17);

/// The Bot API at one base URL with one bot's token.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: reqwest::Url,
    token: Arc<SecretString>,
}

/// Telegram's envelope: `{"ok": true, "result": …}` or `{"ok": false,
/// "description": …, "parameters": …}`.
#[derive(serde::Deserialize)]
struct Envelope<R> {
    ok: bool,
    result: Option<R>,
    description: Option<String>,
    parameters: Option<ResponseParameters>,
}

impl Api {
    pub fn new(base: reqwest::Url, token: SecretString) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .build()
            .expect("a reqwest client with a timeout builds");
        Self { client, base, token: Arc::new(token) }
    }

    fn url(&self, method: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(&format!("bot{}", self.token.expose_secret())).push(method);
        }
        url
    }

    /// Calls the payload's method. An answer over the limit is an
    /// [`RequestError::Io`] of kind `FileTooLarge` that says so; a 2xx
    /// whose body is not the envelope is [`RequestError::InvalidJson`]
    /// (without the body).
    pub async fn call<P>(&self, payload: &P) -> Result<P::Output, RequestError>
    where
        P: Payload + Serialize,
        P::Output: DeserializeOwned,
    {
        match self.send(payload).await? {
            Ok(answer) => read(&answer),
            Err(_) => Err(too_large(P::NAME)),
        }
    }

    /// One getUpdates call. A batch over the limit is `Oversized`, with the
    /// id of its first update when the part read shows it: a caller asks
    /// for fewer updates, and skips one that alone is over the limit.
    pub async fn updates(&self, payload: &GetUpdates) -> Result<Updates, RequestError> {
        let (head, rest) = match self.send(payload).await? {
            Ok(answer) => return read(&answer).map(Updates::Got),
            Err(over) => over,
        };
        let first_id = match id_after_key(&head) {
            Some(id) => Some(id),
            // Not at the start (a server that writes the id last): read on
            // for it, keeping nothing.
            None => wire::find_in(rest, UPDATE_ID, 32).await.and_then(|after| value_at(&after)),
        };
        Ok(Updates::Oversized { first_id })
    }

    /// Sends the payload; the answer, or (`Err`) the start and the unread
    /// rest of one over the limit.
    async fn send<P: Payload + Serialize>(&self, payload: &P) -> Result<Result<wire::Answer, Over>, RequestError> {
        // teloxide's `…Inline` payloads call the method without the suffix.
        let method = P::NAME.trim_end_matches("Inline");
        let timeout = payload.timeout_hint().unwrap_or_default() + CALL_TIMEOUT;
        let request = self.client.post(self.url(method)).timeout(timeout).json(payload);
        match wire::exchange(request, wire::ANSWER_LIMIT).await {
            Ok(answer) => Ok(Ok(answer)),
            Err(Failed::Network(e)) => Err(RequestError::Network(Arc::new(e))),
            Err(Failed::TooLarge { head, rest, .. }) => Ok(Err((head, *rest))),
        }
    }
}

/// What one getUpdates call brought.
pub enum Updates {
    Got(Vec<Update>),
    Oversized { first_id: Option<i32> },
}

fn too_large(method: &str) -> RequestError {
    let limit = wire::ANSWER_LIMIT;
    let why = format!("Telegram's {method} answered with more than {limit} bytes; not read");
    RequestError::Io(Arc::new(std::io::Error::new(std::io::ErrorKind::FileTooLarge, why)))
}

/// The start of an answer over the limit, and its unread rest.
type Over = (Vec<u8>, reqwest::Response);

const UPDATE_ID: &[u8] = b"\"update_id\"";

/// The number after the first `"update_id"` key in `bytes`. Inside a JSON
/// string the key's quotes are escaped, so a message's text cannot fake it.
fn id_after_key(bytes: &[u8]) -> Option<i32> {
    let at = bytes.windows(UPDATE_ID.len()).position(|w| w == UPDATE_ID)? + UPDATE_ID.len();
    value_at(&bytes[at..])
}

/// The number a key's value starts with: `: 123,` gives 123.
fn value_at(bytes: &[u8]) -> Option<i32> {
    // A cut in the middle of a character ends the digits there.
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start().strip_prefix(':')?.trim_start();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    text[..digits].parse().ok()
}

/// Telegram's envelope read as `R`, or the error it reports.
fn read<R: DeserializeOwned>(answer: &wire::Answer) -> Result<R, RequestError> {
    let envelope: Envelope<R> = serde_json::from_slice(&answer.body).map_err(|source| RequestError::InvalidJson {
        source: Arc::new(source),
        raw: format!("{} bytes", answer.body.len()).into(),
    })?;
    if envelope.ok {
        return envelope.result.ok_or_else(|| RequestError::InvalidJson {
            source: Arc::new(serde::de::Error::missing_field("result")),
            raw: "an ok answer without a result".into(),
        });
    }
    Err(match envelope.parameters {
        Some(ResponseParameters::RetryAfter(s)) => RequestError::RetryAfter(sane_wait(s)),
        Some(ResponseParameters::MigrateToChatId(to)) => RequestError::MigrateToChatId(to),
        None => {
            let description = envelope.description.unwrap_or_else(|| format!("HTTP {}", answer.status));
            // teloxide's ApiError reads Telegram's descriptions; one it does
            // not know is kept as Unknown.
            let description = serde_json::Value::String(description);
            RequestError::Api(serde_json::from_value(description).map_err(|source| RequestError::InvalidJson {
                source: Arc::new(source),
                raw: "an error description".into(),
            })?)
        }
    })
}

/// A `retry_after` within reason: Telegram asks for seconds to minutes; a
/// day is the most steward waits on its word.
fn sane_wait(s: Seconds) -> Seconds {
    Seconds::from_seconds(s.seconds().min(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_id_is_read_from_the_start_of_an_answer_and_never_from_a_text() {
        assert_eq!(id_after_key(br#"{"ok":true,"result":[{"update_id": 7001,"message":{"text":"#), Some(7001));
        assert_eq!(id_after_key(br#"{"ok":true,"result":[{"update_id":12"#), Some(12));
        // A text that mentions the key has its quotes escaped.
        assert_eq!(id_after_key(br#"{"ok":true,"result":[{"message":{"text":"\"update_id\": 5"#), None);
        // Cut in the middle of a character, or of the number.
        assert_eq!(value_at(b": 42\xE2"), Some(42));
        assert_eq!(value_at(b"42"), None, "a value follows a colon");
        assert_eq!(value_at(b": 99999999999"), None, "not an update id");
    }
}
