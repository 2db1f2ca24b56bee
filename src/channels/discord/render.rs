//! Cards and answers as Discord embeds and message components, within
//! Discord's limits (content 2,000 characters, an embed description 4,096,
//! a field value 1,024, 25 fields, 5 buttons a row).

use serde_json::{Value, json};

use crate::channels::cards::{Card, Style};
use crate::channels::text::clip;
use crate::domain::{Citation, MenuButton};

pub const MAX_CONTENT: usize = 2000;
const MAX_DESCRIPTION: usize = 4096;
const MAX_FIELD: usize = 1024;

/// A card as a message body: an embed and its buttons (none once closed).
pub fn card(card: &Card) -> Value {
    let colour = match (&card.closed, card.buttons.is_empty()) {
        (Some(c), _) if c.starts_with('✅') => 0x2e_cc_71,
        (Some(_), _) => 0x95_a5_a6,
        _ => 0xe6_7e_22,
    };
    let mut embed = json!({
        "title": clip(&card.title, 256),
        "description": clip(&card.lines.join("\n"), MAX_DESCRIPTION),
        "color": colour,
    });
    if card.expanded && !card.details.is_empty() {
        embed["fields"] = json!([{"name": "Details", "value": clip(&card.details.join("\n"), MAX_FIELD)}]);
    }
    if let Some(closed) = &card.closed {
        embed["footer"] = json!({"text": clip(closed, 2048)});
    }
    let rows: Vec<Value> = card
        .buttons
        .iter()
        .map(|row| {
            let buttons: Vec<Value> = row
                .iter()
                .take(5)
                .map(|b| {
                    let style = match b.style {
                        Style::Go => 3,
                        Style::Stop => 4,
                        Style::Neutral => 2,
                    };
                    json!({"type": 2, "style": style, "label": clip(&b.label, 80), "custom_id": b.data})
                })
                .collect();
            json!({"type": 1, "components": buttons})
        })
        .collect();
    json!({"embeds": [embed], "components": rows, "allowed_mentions": {"parse": []}})
}

/// A menu as a message body: its text and its buttons, five a row.
pub fn menu(text: &str, buttons: &[MenuButton]) -> Value {
    let rows: Vec<Value> = buttons
        .chunks(5)
        .take(5)
        .map(|row| {
            let row: Vec<Value> = row
                .iter()
                .map(|b| json!({"type": 2, "style": 2, "label": clip(&b.label, 80), "custom_id": b.data()}))
                .collect();
            json!({"type": 1, "components": row})
        })
        .collect();
    json!({"content": clip(text, MAX_CONTENT), "components": rows, "allowed_mentions": {"parse": []}})
}

/// An answer's sources as an embed: date, who, channel and a short quote.
pub fn sources(citations: &[Citation]) -> Option<Value> {
    let fields: Vec<Value> = citations
        .iter()
        .take(10)
        .map(|c| {
            let date = c.date.get(..10).unwrap_or(&c.date);
            json!({
                "name": clip(&format!("{date} · {} · {}", c.who, c.channel), 256),
                "value": clip(&format!("“{}”", c.quote), MAX_FIELD),
            })
        })
        .collect();
    (!fields.is_empty()).then(|| json!({"title": "Sources", "fields": fields, "color": 0x34_98_db}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::cards::Button;

    #[test]
    fn a_card_is_an_embed_with_buttons_and_a_closed_one_has_none() {
        let mut c = Card {
            title: "Approval needed · high risk".into(),
            lines: vec!["Pay ACME".into()],
            details: vec!["1. webhook.post".into()],
            expanded: false,
            closed: None,
            buttons: vec![vec![Button { label: "Approve".into(), data: "a:ff".into(), style: Style::Go }]],
        };
        let v = card(&c);
        assert_eq!(v["components"][0]["components"][0]["custom_id"], "a:ff");
        assert!(v["embeds"][0]["fields"].is_null(), "details only when expanded");
        c.closed = Some("✅ Approved by discord:1".into());
        c.buttons.clear();
        let v = card(&c);
        assert_eq!(v["components"], json!([]));
        assert_eq!(v["embeds"][0]["footer"]["text"], "✅ Approved by discord:1");
    }

    #[test]
    fn sources_name_date_who_channel_and_quote() {
        let cites = [Citation {
            id: "x".into(),
            date: "2026-11-01T10:00:00Z".into(),
            who: "telegram:1".into(),
            channel: "telegram".into(),
            quote: "we chose the blue plan".into(),
        }];
        let e = sources(&cites).unwrap();
        assert_eq!(e["fields"][0]["name"], "2026-11-01 · telegram:1 · telegram");
        assert_eq!(e["fields"][0]["value"], "“we chose the blue plan”");
        assert!(sources(&[]).is_none());
    }
}
