//! Cards and messages in Telegram's HTML, every piece of text escaped.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::channels::cards::Card;
use crate::channels::text::escape_html;
use crate::domain::{Citation, MenuButton};

/// The card as HTML (Telegram's subset: `<b>`, `<i>`) and its keyboard.
pub fn card(card: &Card) -> (String, Option<InlineKeyboardMarkup>) {
    let mut html = format!("<b>{}</b>", escape_html(&card.title));
    for line in &card.lines {
        html.push('\n');
        html.push_str(&escape_html(line));
    }
    if card.expanded && !card.details.is_empty() {
        html.push_str("\n\n<b>Details</b>");
        for line in &card.details {
            html.push('\n');
            html.push_str(&escape_html(line));
        }
    }
    if let Some(closed) = &card.closed {
        html.push_str(&format!("\n\n<b>{}</b>", escape_html(closed)));
    }
    let keyboard = (!card.buttons.is_empty()).then(|| {
        InlineKeyboardMarkup::new(card.buttons.iter().map(|row| {
            row.iter().map(|b| InlineKeyboardButton::callback(b.label.clone(), b.data.clone())).collect::<Vec<_>>()
        }))
    });
    (html, keyboard)
}

/// A menu's buttons, one a row; none for no buttons.
pub fn menu(buttons: &[MenuButton]) -> Option<InlineKeyboardMarkup> {
    (!buttons.is_empty()).then(|| {
        InlineKeyboardMarkup::new(
            buttons
                .iter()
                .map(|b| vec![InlineKeyboardButton::callback(b.label.chars().take(64).collect::<String>(), b.data())]),
        )
    })
}

/// A reply with its citations under it, as HTML.
pub fn reply(text: &str, citations: &[Citation]) -> String {
    let mut html = escape_html(text);
    let cites: Vec<String> = citations
        .iter()
        .map(|c| {
            let date = c.date.get(..10).unwrap_or(&c.date);
            format!(
                "• {} · {} · {}: “{}”",
                escape_html(date),
                escape_html(&c.who),
                escape_html(&c.channel),
                escape_html(&c.quote)
            )
        })
        .collect();
    if !cites.is_empty() {
        html.push_str("\n\n<i>Sources</i>\n");
        html.push_str(&cites.join("\n"));
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::cards::{Button, Style};

    #[test]
    fn hostile_card_text_is_escaped_and_buttons_carry_their_data() {
        let c = Card {
            title: "Approval needed · low risk".into(),
            lines: vec!["Pay <b>ACME</b> & co <i>".into()],
            details: vec!["1. webhook.post {\"a\":\"<x>\"}".into()],
            expanded: true,
            closed: None,
            buttons: vec![vec![Button { label: "Approve".into(), data: "a:00".into(), style: Style::Go }]],
        };
        let (html, kb) = card(&c);
        assert!(html.contains("Pay &lt;b&gt;ACME&lt;/b&gt; &amp; co &lt;i&gt;"), "{html}");
        assert!(html.contains("<b>Details</b>\n1. webhook.post {&quot;a&quot;:&quot;&lt;x&gt;&quot;}"), "{html}");
        let kb = serde_json::to_value(kb.unwrap()).unwrap();
        assert_eq!(kb["inline_keyboard"][0][0]["callback_data"], "a:00");
    }
}
