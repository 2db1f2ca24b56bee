//! An mbox file: each message's subject, sender, date and plain text body
//! (an HTML-only message is read as text), MIME and encodings decoded by
//! mail-parser. A message's source id is its Message-ID (or, without one,
//! a hash of the message), so a mailbox exported again adds only what is
//! new.

use mail_parser::MessageParser;
use mail_parser::mailbox::mbox::MessageIterator;
use serde_json::json;

use super::{Item, Read, hash, pieces};
use crate::domain::MemoryKind;

/// The messages of an mbox file.
pub fn mbox(name: &str, bytes: &[u8]) -> Read {
    let mut read = Read::default();
    let parser = MessageParser::default();
    for (n, raw) in MessageIterator::new(bytes).enumerate() {
        let at = format!("{name} message {}", n + 1);
        let Ok(raw) = raw else {
            read.refuse(at, "not a message (the mbox is cut off or malformed here)");
            continue;
        };
        let Some(message) = parser.parse(raw.contents()) else {
            read.refuse(at, "not a readable message");
            continue;
        };
        let subject = message.subject().unwrap_or("(no subject)").trim().to_owned();
        let sender = message.from().and_then(|f| f.first());
        let from = match (sender.and_then(|a| a.name()), sender.and_then(|a| a.address())) {
            (Some(name), Some(address)) => format!("{name} <{address}>"),
            (None, Some(address)) => address.to_owned(),
            (Some(name), None) => name.to_owned(),
            (None, None) => "unknown".to_owned(),
        };
        let body = message.body_text(0).map(|b| b.trim().to_owned()).unwrap_or_default();
        if body.is_empty() && subject == "(no subject)" {
            read.refuse(at, "no subject and no text");
            continue;
        }
        let id = message.message_id().map_or_else(|| hash(&String::from_utf8_lossy(raw.contents())), str::to_owned);
        let occurred_at = message.date().map(|d| d.to_timestamp() * 1000);
        let meta = json!({"subject": subject, "from": from, "message_id": id});
        let text = format!("Subject: {subject}\nFrom: {from}\n\n{body}");
        for (i, piece) in pieces(&text).into_iter().enumerate() {
            let piece = if i > 0 { format!("Subject: {subject}\n\n{piece}") } else { piece };
            read.items.push(Item {
                source_id: format!("mbox:{id}#{i}"),
                kind: MemoryKind::Document,
                occurred_at,
                actor: from.clone(),
                meta: meta.clone(),
                text: piece,
            });
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    const MBOX: &str = "From anna@globex.example Mon Mar  3 09:30:00 2025\n\
From: Anna Berg <anna@globex.example>\n\
Subject: =?UTF-8?B?UGF5bWVudCB0ZXJtcyDinJM=?=\n\
Date: Mon, 3 Mar 2025 09:30:00 +0100\n\
Message-ID: <t1@globex.example>\n\
Content-Type: text/plain; charset=utf-8\n\
Content-Transfer-Encoding: quoted-printable\n\
\n\
We pay net 30 =E2=80=93 from the invoice date.\n\
\n\
From bob@initech.example Tue Mar  4 10:00:00 2025\n\
From: bob@initech.example\n\
Subject: Discount\n\
Date: Tue, 4 Mar 2025 10:00:00 +0000\n\
Content-Type: multipart/alternative; boundary=\"b1\"\n\
\n\
--b1\n\
Content-Type: text/plain\n\
\n\
Can we get 10% off?\n\
--b1\n\
Content-Type: text/html\n\
\n\
<p>Can we get 10% off?</p>\n\
--b1--\n";

    #[test]
    fn each_message_keeps_its_sender_date_and_decoded_text() {
        let read = mbox("inbox.mbox", MBOX.as_bytes());
        assert!(read.refused.is_empty(), "{:?}", read.refused);
        assert_eq!(read.items.len(), 2);
        let (a, b) = (&read.items[0], &read.items[1]);
        assert!(a.text.starts_with("Subject: Payment terms ✓\nFrom: Anna Berg <anna@globex.example>"), "{}", a.text);
        assert!(a.text.contains("net 30 – from the invoice date"), "{}", a.text);
        assert_eq!(a.occurred_at, Some(1_740_990_600_000));
        assert_eq!(a.source_id, "mbox:t1@globex.example#0");
        assert_eq!(b.actor, "bob@initech.example");
        assert!(b.text.ends_with("Can we get 10% off?"), "only the plain text part: {}", b.text);
        assert!(b.source_id.starts_with("mbox:"));
        // The same mailbox again reads the same ids.
        assert_eq!(mbox("inbox.mbox", MBOX.as_bytes()).items, read.items);
    }
}
