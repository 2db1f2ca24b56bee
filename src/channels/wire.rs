//! One request to a chat platform's HTTP API, its answer read up to a
//! limit. teloxide and serenity read answers whole; steward sends the
//! requests it makes itself through here, so a broken or hostile server (or
//! a proxy in between) cannot make it hold an unbounded body.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// The most of one answer steward reads: far above any real one (a full
/// getUpdates batch of 100 long messages is a few hundred KB).
pub const ANSWER_LIMIT: usize = 8 << 20;

/// How much of an answer over the limit is kept to say what it was.
pub const HEAD: usize = 4096;

/// An answer, its body read whole because it fit.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub enum Failed {
    /// The request did not get an answer; the error carries no URL (a
    /// Telegram URL holds the bot's token).
    Network(reqwest::Error),
    /// The answer's body was longer than the limit: `head` is its start
    /// (up to [`HEAD`] bytes) and `rest` the unread remainder, for a caller
    /// that must find something in it without keeping it.
    TooLarge { limit: usize, head: Vec<u8>, rest: Box<reqwest::Response> },
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Network(e) => write!(f, "{e}"),
            Failed::TooLarge { limit, .. } => write!(f, "the answer is over {limit} bytes; not read"),
        }
    }
}

/// Sends `request` and reads its answer, at most `limit` bytes of it.
pub async fn exchange(request: reqwest::RequestBuilder, limit: usize) -> Result<Answer, Failed> {
    let mut response = request.send().await.map_err(|e| Failed::Network(e.without_url()))?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    // A read error ends the body where it broke: what was read is judged.
    while let Ok(Some(chunk)) = response.chunk().await {
        if chunk.len() > limit - body.len() {
            body.extend_from_slice(&chunk);
            body.truncate(HEAD);
            return Err(Failed::TooLarge { limit, head: body, rest: Box::new(response) });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, headers, body })
}

/// Reads the rest of an answer without keeping it, for the first place
/// `pattern` occurs; returns the (at most `after`) bytes that follow it.
/// Bounded by the request's timeout, not by size.
pub async fn find_in(mut rest: reqwest::Response, pattern: &[u8], after: usize) -> Option<Vec<u8>> {
    let mut window: Vec<u8> = Vec::new();
    let mut found: Option<usize> = None;
    while let Ok(Some(chunk)) = rest.chunk().await {
        window.extend_from_slice(&chunk);
        if found.is_none() {
            found = window.windows(pattern.len()).position(|w| w == pattern).map(|at| at + pattern.len());
            if found.is_none() {
                // Keep only what could be the start of the pattern.
                let keep = pattern.len().saturating_sub(1).min(window.len());
                window.drain(..window.len() - keep);
                continue;
            }
        }
        let at = found.unwrap_or_default();
        if window.len() >= at + after {
            return Some(window[at..at + after].to_vec());
        }
    }
    found.map(|at| window[at..].to_vec())
}
