//! The Bot API side of the Telegram stand-in: each method as the real API
//! answers it, the checks it makes (text length, the HTML subset, callback
//! data), and the injected faults.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::telegram::{AppState, BOT_ID, Fault, Sent, message_json};

fn ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

fn err(code: u16, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (StatusCode::from_u16(code).unwrap(), Json(body)).into_response()
}

/// Checks Telegram's HTML subset and returns the text a person sees.
pub fn parse_html(s: &str) -> Result<String, String> {
    const ALLOWED: [&str; 14] =
        ["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "blockquote"];
    let mut out = String::new();
    let mut stack: Vec<String> = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '<' => {
                let mut tag = String::new();
                loop {
                    match chars.next() {
                        Some((_, '>')) => break,
                        Some((_, ch)) => tag.push(ch),
                        None => {
                            return Err(format!(
                                "Bad Request: can't parse entities: unclosed start tag at byte offset {at}"
                            ));
                        }
                    }
                }
                let closing = tag.starts_with('/');
                let name = tag.trim_start_matches('/').split_whitespace().next().unwrap_or("").to_lowercase();
                if !ALLOWED.contains(&name.as_str()) {
                    return Err(format!(
                        "Bad Request: can't parse entities: Unsupported start tag \"{name}\" at byte offset {at}"
                    ));
                }
                if closing {
                    if stack.pop().as_deref() != Some(name.as_str()) {
                        return Err(format!(
                            "Bad Request: can't parse entities: Unmatched end tag at byte offset {at}, expected \"</{}>\", found \"</{name}>\"",
                            stack.last().cloned().unwrap_or_default()
                        ));
                    }
                } else {
                    stack.push(name);
                }
            }
            '&' => {
                let mut entity = String::new();
                loop {
                    match chars.next() {
                        Some((_, ';')) => break,
                        Some((_, ch)) if entity.len() < 10 => entity.push(ch),
                        _ => {
                            return Err(format!(
                                "Bad Request: can't parse entities: Character '&' is reserved at byte offset {at}"
                            ));
                        }
                    }
                }
                out.push(match entity.as_str() {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    e if e.starts_with('#') => e[1..]
                        .parse::<u32>()
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or("Bad Request: can't parse entities: bad number")?,
                    _ => {
                        return Err(format!(
                            "Bad Request: can't parse entities: Unsupported entity \"{entity}\" at byte offset {at}"
                        ));
                    }
                });
            }
            c => out.push(c),
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!(
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"{open}\""
        ));
    }
    Ok(out)
}

/// The text a person would see, or the 400 Telegram answers.
fn visible(p: &Value) -> Result<String, String> {
    let text = p["text"].as_str().ok_or("Bad Request: message text is empty")?;
    let shown = if p["parse_mode"] == "HTML" { parse_html(text)? } else { text.to_owned() };
    if shown.trim().is_empty() {
        return Err("Bad Request: message text is empty".into());
    }
    if shown.encode_utf16().count() > 4096 {
        return Err("Bad Request: message is too long".into());
    }
    for row in p["reply_markup"]["inline_keyboard"].as_array().into_iter().flatten() {
        for b in row.as_array().into_iter().flatten() {
            if b["callback_data"].as_str().is_some_and(|d| d.len() > 64 || d.is_empty()) {
                return Err("Bad Request: BUTTON_DATA_INVALID".into());
            }
        }
    }
    Ok(shown)
}

/// The parameters of a call: a JSON body, or multipart form fields (which
/// teloxide uses for methods that can carry a file, such as setWebhook).
fn params(headers: &axum::http::HeaderMap, body: &[u8]) -> Value {
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Some(boundary) = ct.split("boundary=").nth(1) {
        let text = String::from_utf8_lossy(body);
        let mut out = serde_json::Map::new();
        for part in text.split(&format!("--{}", boundary.trim_matches('"'))) {
            let Some((head, value)) = part.split_once("\r\n\r\n") else { continue };
            let Some(name) = head.split("name=\"").nth(1).and_then(|n| n.split('"').next()) else { continue };
            let value = value.trim_end_matches("\r\n");
            out.insert(name.to_owned(), serde_json::from_str(value).unwrap_or_else(|_| json!(value)));
        }
        return Value::Object(out);
    }
    if body.is_empty() { json!({}) } else { serde_json::from_slice(body).unwrap_or(json!({})) }
}

pub async fn handle(
    State(st): State<Arc<AppState>>,
    Path((bot, method)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    if bot != format!("bot{}", st.token) {
        return err(401, "Unauthorized", None);
    }
    // Method names are case-insensitive in the Bot API.
    let method = method.to_ascii_lowercase();
    let p = params(&headers, &body);
    let fault = {
        let mut inner = st.inner.lock().unwrap();
        inner.calls.push((method.clone(), p.clone()));
        inner.call_times.push((method.clone(), Instant::now()));
        inner.faults.get_mut(&method).and_then(|q| q.pop_front())
    };
    match fault {
        Some(Fault::TooMany(secs)) => {
            return err(429, &format!("Too Many Requests: retry after {secs}"), Some(json!({"retry_after": secs})));
        }
        Some(Fault::ServerError) => return err(500, "Internal Server Error", None),
        Some(Fault::Conflict) => {
            return err(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                None,
            );
        }
        Some(Fault::BadHtml) => {
            return err(400, "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0", None);
        }
        Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
        Some(Fault::Huge(n)) => {
            let pad = "x".repeat(n);
            let result = json!({"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": pad});
            return ok(result);
        }
        None => {}
    }
    match method.as_str() {
        "getme" => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "Steward", "username": "steward_test_bot",
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false,
        })),
        "getupdates" => get_updates(&st, &p).await,
        "sendmessage" => {
            let shown = match visible(&p) {
                Ok(s) => s,
                Err(e) => return err(400, &e, None),
            };
            let mut inner = st.inner.lock().unwrap();
            inner.next_message += 1;
            let s = Sent {
                chat: p["chat_id"].as_i64().unwrap_or(0),
                message_id: inner.next_message,
                text: shown,
                parse_mode: p["parse_mode"].as_str().map(str::to_owned),
                reply_markup: p.get("reply_markup").cloned(),
                first_markup: p.get("reply_markup").cloned(),
                edits: 0,
            };
            inner.sent.push(s.clone());
            ok(message_json(&s))
        }
        "editmessagetext" => {
            let shown = match visible(&p) {
                Ok(s) => s,
                Err(e) => return err(400, &e, None),
            };
            let mut inner = st.inner.lock().unwrap();
            let (chat, id) = (p["chat_id"].as_i64().unwrap_or(0), p["message_id"].as_i64().unwrap_or(0));
            let Some(s) = inner.sent.iter_mut().find(|s| s.chat == chat && s.message_id == id) else {
                return err(400, "Bad Request: message to edit not found", None);
            };
            let markup = p.get("reply_markup").cloned();
            if s.text == shown && s.reply_markup == markup {
                return err(
                    400,
                    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
                    None,
                );
            }
            s.text = shown;
            s.reply_markup = markup;
            s.parse_mode = p["parse_mode"].as_str().map(str::to_owned);
            s.edits += 1;
            let s = s.clone();
            ok(message_json(&s))
        }
        "answercallbackquery" => {
            st.inner.lock().unwrap().answers.push(p);
            ok(json!(true))
        }
        "setmycommands" => {
            st.inner.lock().unwrap().commands = p["commands"].as_array().cloned().unwrap_or_default();
            ok(json!(true))
        }
        "deletewebhook" | "setwebhook" => ok(json!(true)),
        _ => err(404, "Not Found: method not found", None),
    }
}

/// Long polling: confirms what is below `offset`, answers at once when
/// something is waiting, or after `timeout` seconds with nothing.
async fn get_updates(st: &AppState, p: &Value) -> Response {
    let offset = p["offset"].as_i64();
    let timeout = Duration::from_secs(p["timeout"].as_u64().unwrap_or(0));
    let deadline = Instant::now() + timeout;
    loop {
        let notified = st.notify.notified();
        {
            let mut inner = st.inner.lock().unwrap();
            inner.polls += 1;
            if let Some(o) = offset {
                inner.updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= o);
            }
            if !inner.updates.is_empty() || !inner.forced.is_empty() {
                let mut out = inner.updates.clone();
                out.append(&mut inner.forced);
                out.sort_by_key(|u| u["update_id"].as_i64());
                // At most `limit` (1 to 100, 100 by default), the oldest first.
                out.truncate(p["limit"].as_u64().unwrap_or(100).clamp(1, 100) as usize);
                return ok(json!(out));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return ok(json!([]));
        }
        let _ = tokio::time::timeout(left, notified).await;
    }
}
