//! Chat exports: Telegram Desktop's JSON export (one chat, or a full export
//! with many) and a Discord channel in DiscordChatExporter's JSON format.
//! Each message with text is a record with its author, date and chat; a
//! message's source id is its chat, its id and a hash of its text, so an
//! edited message read from a later export is a new record.

use chrono::DateTime;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Item, Read, hash, pieces, said};
use crate::domain::Millis;

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        // Telegram splits formatted text into plain strings and entities.
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.as_str(),
                other => other["text"].as_str().unwrap_or_default(),
            })
            .collect(),
        _ => String::new(),
    }
}

/// The export as JSON, or, refused, nothing.
fn json_of(name: &str, bytes: &[u8], read: &mut Read) -> Option<Value> {
    serde_json::from_slice(bytes).map_err(|e| read.refuse(name, format!("not JSON: {e}"))).ok()
}

/// A message's records (a long one is cut into pieces).
fn push(read: &mut Read, prefix: &str, id: &str, text: &str, at: Option<Millis>, actor: &str, meta: Value) {
    for (i, piece) in pieces(text).into_iter().enumerate() {
        let part = if i == 0 { String::new() } else { format!(".{i}") };
        read.items.push(Item {
            source_id: format!("{prefix}{id}{part}:{}", hash(&piece)),
            kind: said(&piece),
            occurred_at: at,
            actor: actor.to_owned(),
            meta: meta.clone(),
            text: piece,
        });
    }
}

/// What a Telegram message is: said by someone, or a service event.
#[derive(Deserialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum TelegramKind {
    Message,
    #[serde(other)]
    Service,
}

/// A Telegram Desktop export (`result.json`): one chat's, or a full
/// export's `chats.list`.
pub fn telegram(name: &str, bytes: &[u8]) -> Read {
    let mut read = Read::default();
    let Some(doc) = json_of(name, bytes, &mut read) else { return read };
    let chats: Vec<&Value> = match doc["chats"]["list"].as_array() {
        Some(list) => list.iter().collect(),
        None if doc["messages"].is_array() => vec![&doc],
        None => {
            read.refuse(name, "not a Telegram Desktop export: no `messages` and no `chats.list`");
            return read;
        }
    };
    for chat in chats {
        let chat_name = chat["name"].as_str().unwrap_or("a chat");
        let chat_id = chat["id"].as_i64().map_or_else(|| hash(chat_name), |i| i.to_string());
        let prefix = format!("telegram:{chat_id}#");
        for m in chat["messages"].as_array().into_iter().flatten() {
            let id = m["id"].as_i64().map(|i| i.to_string()).unwrap_or_default();
            let at = m["date_unixtime"].as_str().and_then(|s| s.parse::<i64>().ok()).map(|s| s * 1000).or_else(|| {
                m["date"]
                    .as_str()
                    .and_then(|d| format!("{d}Z").parse::<DateTime<chrono::Utc>>().ok())
                    .map(|t| t.timestamp_millis())
            });
            let text = text_of(&m["text"]);
            let said = matches!(serde_json::from_value(m["type"].clone()), Ok(TelegramKind::Message));
            if !said || text.trim().is_empty() {
                read.refuse(format!("{chat_name} #{id}"), "no text (a service message, or media only)");
                continue;
            }
            let author = m["from"].as_str().unwrap_or("unknown");
            let meta = json!({"chat": chat_name, "message_id": id, "author_id": m["from_id"]});
            push(&mut read, &prefix, &id, &text, at, author, meta);
        }
    }
    read
}

/// DiscordChatExporter's JSON, as much of it as is read.
#[derive(Deserialize)]
struct DiscordExport {
    #[serde(default)]
    guild: Named,
    #[serde(default)]
    channel: Named,
    messages: Vec<DiscordMessage>,
}

#[derive(Deserialize, Default)]
struct Named {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct DiscordMessage {
    #[serde(default)]
    id: String,
    #[serde(rename = "type", default)]
    kind: DiscordKind,
    timestamp: Option<String>,
    #[serde(default)]
    content: String,
    #[serde(default)]
    author: DiscordAuthor,
}

/// What a message is: said by someone, or a system event (a pin, a join).
#[derive(Deserialize, Default, PartialEq, Eq)]
enum DiscordKind {
    #[default]
    Default,
    Reply,
    #[serde(other)]
    System,
}

#[derive(Deserialize, Default)]
struct DiscordAuthor {
    id: Option<String>,
    name: Option<String>,
    nickname: Option<String>,
}

/// A channel exported by DiscordChatExporter as JSON.
pub fn discord(name: &str, bytes: &[u8]) -> Read {
    let mut read = Read::default();
    let doc: DiscordExport = match serde_json::from_slice(bytes) {
        Ok(d) => d,
        Err(e) => {
            read.refuse(name, format!("not a DiscordChatExporter JSON export: {e}"));
            return read;
        }
    };
    let channel = doc.channel.name.as_deref().unwrap_or("a channel");
    let channel_id = doc.channel.id.clone().unwrap_or_else(|| hash(channel));
    let prefix = format!("discord:{channel_id}#");
    for m in &doc.messages {
        if m.kind == DiscordKind::System || m.content.trim().is_empty() {
            read.refuse(format!("#{channel} {}", m.id), "no text (a system message, or attachments only)");
            continue;
        }
        let at =
            m.timestamp.as_deref().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.timestamp_millis());
        let who = m.author.nickname.as_deref().or(m.author.name.as_deref()).unwrap_or("unknown");
        let meta = json!({"guild": doc.guild.name, "channel": channel, "message_id": m.id, "author_id": m.author.id});
        push(&mut read, &prefix, &m.id, &m.content, at, who, meta);
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MemoryKind;

    #[test]
    fn a_telegram_export_keeps_authors_dates_and_formatted_text() {
        let export = json!({"name": "Anna", "type": "personal_chat", "id": 42, "messages": [
            {"id": 1, "type": "message", "date": "2025-03-01T09:30:00", "date_unixtime": "1740821400",
             "from": "Anna", "from_id": "user7", "text": "Globex pays net 30."},
            {"id": 2, "type": "message", "date": "2025-03-01T09:31:00", "from": "Me",
             "text": ["Did they ", {"type": "bold", "text": "sign"}, "?"]},
            {"id": 3, "type": "service", "date": "2025-03-01T09:32:00", "action": "pin_message", "text": ""},
            {"id": 4, "type": "message", "date": "2025-03-01T09:33:00", "from": "Anna", "photo": "p.jpg", "text": ""}
        ]});
        let read = telegram("result.json", export.to_string().as_bytes());
        assert_eq!(read.items.len(), 2);
        let (a, b) = (&read.items[0], &read.items[1]);
        assert_eq!((a.actor.as_str(), a.occurred_at, a.kind), ("Anna", Some(1_740_821_400_000), MemoryKind::Statement));
        assert_eq!((b.text.as_str(), b.kind), ("Did they sign?", MemoryKind::Question));
        assert_eq!(b.occurred_at, Some(1_740_821_460_000), "a local date with no zone is read as UTC");
        assert!(a.source_id.starts_with("telegram:42#1:"));
        assert_eq!(read.refused.len(), 2);
        let full = json!({"chats": {"list": [export]}});
        assert_eq!(telegram("result.json", full.to_string().as_bytes()).items, read.items);
        assert_eq!(telegram("x.json", b"{\"nope\": 1}").refused.len(), 1);
        assert_eq!(telegram("x.json", b"not json").refused.len(), 1);
    }

    #[test]
    fn a_discord_export_keeps_nicknames_and_skips_system_messages() {
        let export = json!({"guild": {"name": "Studio"}, "channel": {"id": "99", "name": "general"}, "messages": [
            {"id": "5", "type": "Default", "timestamp": "2025-03-01T09:30:00.123+01:00", "content": "Ship it Friday.",
             "author": {"id": "1", "name": "lena", "nickname": "Lena K"}},
            {"id": "6", "type": "ChannelPinnedMessage", "timestamp": "2025-03-01T09:31:00+00:00", "content": "",
             "author": {"id": "1", "name": "lena"}}
        ]});
        let read = discord("general.json", export.to_string().as_bytes());
        assert_eq!(read.items.len(), 1);
        let m = &read.items[0];
        assert_eq!((m.actor.as_str(), m.occurred_at), ("Lena K", Some(1_740_817_800_123)));
        assert_eq!(m.meta["channel"], "general");
        assert!(m.source_id.starts_with("discord:99#5:"));
        assert_eq!(read.refused.len(), 1);
    }
}
