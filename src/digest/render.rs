//! Renderers. The content is laid out once ([`sections`]: titled lists of
//! plain-text lines, exceptions first, empty sections left out); each
//! renderer only adds its markup, escaping every line.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::Digest;
use crate::domain::Millis;

/// Telegram's limit is 4,096 characters per message; Discord's 1,024 per
/// embed field. Lines past these are summarised as "… and N more".
const DISCORD_FIELD: usize = 1024;

pub struct Section {
    pub title: String,
    pub lines: Vec<String>,
    /// A closing line, e.g. how to approve all low-risk requests at once.
    pub footer: Option<String>,
}

fn at(tz: Tz, ms: Millis) -> String {
    let utc: DateTime<Utc> = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    tz.from_utc_datetime(&utc.naive_utc()).format("%a %d %b %H:%M %Z").to_string()
}

fn quote(s: &str) -> String {
    let short: String = s.chars().take(80).collect();
    if s.chars().count() > 80 { format!("“{short}…”") } else { format!("“{short}”") }
}

/// The heading line: which digest, for when, since when.
pub fn heading(d: &Digest, tz: Tz) -> String {
    format!("steward digest: {}, {} (since {})", d.schedule, at(tz, d.until), at(tz, d.since))
}

/// The digest laid out, exceptions first.
pub fn sections(d: &Digest, tz: Tz) -> Vec<Section> {
    let mut out = Vec::new();
    let mut push = |title: String, lines: Vec<String>, footer: Option<String>| {
        if !lines.is_empty() {
            out.push(Section { title, lines, footer });
        }
    };
    push(
        format!("Needs you ({})", d.exceptions.len()),
        d.exceptions
            .iter()
            .map(|e| {
                let why = if e.why.is_empty() { String::new() } else { format!(" — {}", e.why) };
                let state = match e.state.as_str() {
                    "needs_attention" => "Needs attention",
                    "compensated" => "Undone after a failure",
                    _ => "Failed",
                };
                format!("{state}: {}{why} [{}]", quote(&e.text), e.intent_id)
            })
            .collect(),
        None,
    );
    let low = d.low_risk_waiting();
    push(
        format!("Waiting for you ({}, oldest first)", d.pending.len()),
        d.pending
            .iter()
            .map(|p| {
                let what = if p.kind == "review_after" { "ran; confirm or undo" } else { "approve or reject" };
                format!("[{}] {} ({what} {} by {})", p.risk, quote(&p.summary), p.approval_id, at(tz, p.expires_at))
            })
            .collect(),
        match low {
            0 => None,
            1 => Some("Approve the low-risk request at once: reply \"approve all low\".".to_owned()),
            n => Some(format!("Approve all {n} low-risk requests at once: reply \"approve all low\".")),
        },
    );
    push(
        format!("Done ({})", d.completed.len()),
        d.completed.iter().map(|c| format!("{} ({})", quote(&c.text), at(tz, c.at))).collect(),
        None,
    );
    push(
        format!("Deadlines ({})", d.deadlines.len()),
        d.deadlines
            .iter()
            .map(|x| format!("{} due {} ({})", quote(&x.text), at(tz, x.deadline), x.state.replace('_', " ")))
            .collect(),
        None,
    );
    push(
        "Model cost".into(),
        d.costs
            .iter()
            .map(|c| format!("tier {}: {} calls, {} tokens, ${:.4}", c.tier, c.calls, c.tokens, c.cost_usd))
            .collect(),
        None,
    );
    push(
        "Remembered".into(),
        d.memory
            .iter()
            .map(|(kind, n)| format!("{n} {}{}", kind.replace('_', " "), if *n == 1 { "" } else { "s" }))
            .collect(),
        None,
    );
    out
}

const CATCH_UP: &str = "Sent late: this period was missed while steward was down.";

/// The last line of every digest: the audit chain's head, an anchor kept
/// wherever the digest goes (`steward audit verify --anchor SEQ:HASH`).
fn anchor_line(d: &Digest) -> Option<String> {
    d.audit_head.as_ref().map(|h| format!("Audit anchor: {h}"))
}

/// The one line an empty digest becomes, when it is not skipped.
pub fn one_line(d: &Digest, tz: Tz) -> String {
    let line = format!("steward digest: {}: nothing happened since {}.", d.schedule, at(tz, d.since));
    match anchor_line(d) {
        Some(a) => format!("{line} {a}"),
        None => line,
    }
}

pub fn text(d: &Digest, tz: Tz) -> String {
    let mut blocks = vec![heading(d, tz)];
    if d.catch_up {
        blocks[0].push_str(&format!("\n{CATCH_UP}"));
    }
    for s in sections(d, tz) {
        let mut b = s.title.to_uppercase();
        for l in &s.lines {
            b.push_str(&format!("\n• {l}"));
        }
        if let Some(f) = &s.footer {
            b.push_str(&format!("\n{f}"));
        }
        blocks.push(b);
    }
    blocks.extend(anchor_line(d));
    blocks.join("\n\n") + "\n"
}

/// Escapes text for HTML (and Telegram's HTML subset): `&`, `<`, `>`, `"`.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Telegram's HTML subset: `<b>` and `<i>` only, every line escaped.
pub fn telegram(d: &Digest, tz: Tz) -> String {
    let mut blocks = vec![format!("<b>{}</b>", escape(&heading(d, tz)))];
    if d.catch_up {
        blocks[0].push_str(&format!("\n<i>{}</i>", escape(CATCH_UP)));
    }
    for s in sections(d, tz) {
        let mut b = format!("<b>{}</b>", escape(&s.title));
        for l in &s.lines {
            b.push_str(&format!("\n• {}", escape(l)));
        }
        if let Some(f) = &s.footer {
            b.push_str(&format!("\n<i>{}</i>", escape(f)));
        }
        blocks.push(b);
    }
    blocks.extend(anchor_line(d).map(|a| format!("<i>{}</i>", escape(&a))));
    blocks.join("\n\n")
}

/// HTML email body.
pub fn html(d: &Digest, tz: Tz) -> String {
    let mut out = format!("<html><body>\n<h2>{}</h2>\n", escape(&heading(d, tz)));
    if d.catch_up {
        out.push_str(&format!("<p><i>{}</i></p>\n", escape(CATCH_UP)));
    }
    for s in sections(d, tz) {
        out.push_str(&format!("<h3>{}</h3>\n<ul>\n", escape(&s.title)));
        for l in &s.lines {
            out.push_str(&format!("<li>{}</li>\n", escape(l)));
        }
        out.push_str("</ul>\n");
        if let Some(f) = &s.footer {
            out.push_str(&format!("<p>{}</p>\n", escape(f)));
        }
    }
    if let Some(a) = anchor_line(d) {
        out.push_str(&format!("<p><small>{}</small></p>\n", escape(&a)));
    }
    out + "</body></html>\n"
}

/// A Discord embed: red when something needs the operator.
pub fn discord(d: &Digest, tz: Tz) -> Value {
    let fields: Vec<Value> = sections(d, tz)
        .into_iter()
        .take(25)
        .map(|s| {
            let mut value = String::new();
            for (i, l) in s.lines.iter().enumerate() {
                let line = format!("• {l}\n");
                if value.len() + line.len() > DISCORD_FIELD - 40 {
                    value.push_str(&format!("… and {} more\n", s.lines.len() - i));
                    break;
                }
                value.push_str(&line);
            }
            if let Some(f) = &s.footer {
                if value.len() + f.len() < DISCORD_FIELD {
                    value.push_str(f);
                }
            }
            json!({"name": s.title, "value": value.trim_end()})
        })
        .collect();
    let color = if d.exceptions.is_empty() { 0x5865F2 } else { 0xED4245 };
    let mut embed = json!({"title": heading(d, tz), "color": color, "fields": fields});
    if d.catch_up {
        embed["description"] = json!(CATCH_UP);
    }
    if let Some(a) = anchor_line(d) {
        embed["footer"] = json!({ "text": a });
    }
    embed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::digest::{Cost, Deadline, Done, Exception, Pending};

    const T0: Millis = 1_764_054_000_000; // 2025-11-25 07:00 UTC

    fn sample() -> Digest {
        let h = 3_600_000;
        Digest {
            schedule: "morning".into(),
            since: T0 - 24 * h,
            until: T0,
            catch_up: true,
            exceptions: vec![
                Exception {
                    intent_id: "01JA".into(),
                    text: "Send Q3 numbers to <accounting> & tax".into(),
                    state: "needs_attention".into(),
                    why: "no fast model is configured".into(),
                    at: T0 - 2 * h,
                },
                Exception {
                    intent_id: "01JB".into(),
                    text: "Deploy the site".into(),
                    state: "compensated".into(),
                    why: "permanent: 422 Unprocessable".into(),
                    at: T0 - 5 * h,
                },
            ],
            pending: vec![
                Pending {
                    approval_id: "01JC".into(),
                    intent_id: "01JD".into(),
                    summary: "Email ACME the renewal offer".into(),
                    risk: "high".into(),
                    kind: "approve_before".into(),
                    requested_at: T0 - 9 * h,
                    expires_at: T0 + 15 * h,
                },
                Pending {
                    approval_id: "01JE".into(),
                    intent_id: "01JF".into(),
                    summary: "Write the weekly note".into(),
                    risk: "low".into(),
                    kind: "approve_before".into(),
                    requested_at: T0 - h,
                    expires_at: T0 + 23 * h,
                },
            ],
            completed: vec![Done { intent_id: "01JG".into(), text: "Call the rebuild hook".into(), at: T0 - 3 * h }],
            deadlines: vec![Deadline {
                intent_id: "01JH".into(),
                text: "Invoice Globex".into(),
                state: "awaiting_approval".into(),
                deadline: T0 + 48 * h,
            }],
            costs: vec![Cost { tier: 2, calls: 12, tokens: 3400, cost_usd: 0.0021 }],
            memory: vec![("message".into(), 5), ("note".into(), 2)],
            audit_head: Some(format!("42:{}", "5e".repeat(32))),
        }
    }

    fn golden(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, actual).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(actual, want, "{name} differs from tests/golden (UPDATE_GOLDEN=1 rewrites it after review)");
    }

    #[test]
    fn each_renderer_matches_its_golden_text_exceptions_first() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let d = sample();
        golden("digest.txt", &text(&d, tz));
        golden("digest.telegram.html", &telegram(&d, tz));
        golden("digest.email.html", &html(&d, tz));
        golden("digest.discord.json", &serde_json::to_string_pretty(&discord(&d, tz)).unwrap());
        let t = text(&d, tz);
        assert!(t.find("NEEDS YOU").unwrap() < t.find("WAITING FOR YOU").unwrap());
        assert!(telegram(&d, tz).contains("&lt;accounting&gt; &amp; tax"), "escaped");
    }

    #[test]
    fn empty_sections_are_left_out() {
        let tz: Tz = "UTC".parse().unwrap();
        let d = Digest { exceptions: vec![], costs: vec![], memory: vec![], catch_up: false, ..sample() };
        let t = text(&d, tz);
        assert!(!t.contains("NEEDS YOU") && !t.contains("MODEL COST") && !t.contains("late"), "{t}");
        let empty = Digest { pending: vec![], completed: vec![], deadlines: vec![], ..d };
        assert!(empty.is_empty(), "the audit anchor alone is not news");
        let anchored = one_line(&empty, tz);
        assert_eq!(
            anchored,
            format!(
                "steward digest: morning: nothing happened since Mon 24 Nov 07:00 UTC. Audit anchor: 42:{}",
                "5e".repeat(32)
            )
        );
        let unanchored = Digest { audit_head: None, ..empty };
        assert_eq!(one_line(&unanchored, tz), "steward digest: morning: nothing happened since Mon 24 Nov 07:00 UTC.");
    }
}
