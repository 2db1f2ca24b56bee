//! What a chat channel shows for a notice, before it is rendered in the
//! platform's own markup: an approval card with its buttons, or a message.
//! Telegram renders a [`Card`] as HTML with an inline keyboard, Discord as an
//! embed with buttons; both read the approval's state when they render, so a
//! card queued before a decision is shown already decided.

use super::text::clip;
use crate::domain::{ApprovalKind, ApprovalRequest, ApprovalState, Millis, Press, Question, Risk, Verb};
use crate::reasoning::when;
use crate::store::approvals::{self, Approval, Filter};
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub title: String,
    pub lines: Vec<String>,
    /// Shown when the card is expanded (Details).
    pub details: Vec<String>,
    pub expanded: bool,
    /// How it ended, once it has: the card then has no buttons.
    pub closed: Option<String>,
    pub buttons: Vec<Vec<Button>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Button {
    pub label: String,
    /// The callback data / custom id: `a:`, `r:`, `d:` or `L:` and the token.
    pub data: String,
    pub style: Style,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Go,
    Stop,
    Neutral,
}

fn button(label: impl Into<String>, verb: Verb, token: &str, style: Style) -> Button {
    Button { label: label.into(), data: Press::new(verb, token).data(), style }
}

/// How a closed approval ended, for the edited card.
pub fn outcome_line(a: &Approval) -> Option<String> {
    let at = a.decided_at.map(when).unwrap_or_default();
    let by = a.decided_by.as_deref().unwrap_or("steward");
    Some(match a.state {
        ApprovalState::Pending => return None,
        ApprovalState::Approved => format!("✅ Approved by {by} at {at}"),
        ApprovalState::Rejected => format!("❌ Rejected by {by} at {at}"),
        ApprovalState::Confirmed => format!("✅ Kept: confirmed by {by} at {at}"),
        ApprovalState::Undone => format!("↩️ Undone by {by} at {at}"),
        ApprovalState::Answered => match (&a.answer, by) {
            (Some(answer), "steward") => format!("⌛ No answer in time: took the default `{answer}` at {at}"),
            (answer, by) => format!("💬 Answered `{}` by {by} at {at}", answer.as_deref().unwrap_or("?")),
        },
        ApprovalState::Expired => format!("⌛ Expired at {at}: not decided in time, so it did not run"),
        ApprovalState::Superseded => {
            format!("🚫 Withdrawn at {at}: {}", a.decided_via.as_deref().unwrap_or("superseded"))
        }
    })
}

/// The card of an approval as it stands now. `low_batch` is how many
/// low-risk requests an "Approve all" press on it would approve.
pub fn approval_card(a: &Approval, expanded: bool, low_batch: usize, now: Millis) -> Card {
    let r = &a.request;
    if let Some(q) = &r.question {
        return question_card(a, q, expanded, now);
    }
    let review = a.kind == ApprovalKind::ReviewAfter;
    let title = if review {
        format!("Done, for your review · {} risk", a.risk.as_str())
    } else {
        format!("Approval needed · {} risk", a.risk.as_str())
    };
    let summary = if r.scrubbed { "(its text was forgotten)" } else { r.summary.as_str() };
    let mut lines = vec![clip(summary, 600)];
    let (asked, via) = (&r.asked_by, &r.channel);
    if !asked.is_empty() {
        lines.push(if via.is_empty() { format!("Asked by {asked}") } else { format!("Asked by {asked} via {via}") });
    }
    if !a.rule.is_empty() {
        lines.push(format!("Why: policy rule {}", a.rule));
    }
    lines.push(if review {
        format!("Undo possible until {}", when(a.expires_at))
    } else {
        format!("Expires {} (then it is denied)", when(a.expires_at))
    });
    lines.extend(reaches(r));
    let mut details = Vec::new();
    for step in &r.steps {
        let args = clip(&step.args.to_string(), 300);
        let risk = step.risk.as_deref().unwrap_or("unjudged");
        details.push(format!("{}. {}.{} {args} ({risk} risk)", step.seq + 1, step.adapter, step.action));
        if let Some(undo) = step.compensation.as_str() {
            details.push(format!("   undo: {}", clip(undo, 200)));
        }
    }
    details.push(format!("Intent {}", a.intent_id));
    if let Some(v) = &r.policy_version {
        details.push(format!("Policy {v}"));
    }
    let closed = outcome_line(a);
    let open = closed.is_none() && a.expires_at > now;
    let mut buttons = Vec::new();
    if open {
        let (yes, no) = if review { ("Keep", "Undo") } else { ("Approve", "Reject") };
        let mut row =
            vec![button(yes, Verb::Approve, &a.token, Style::Go), button(no, Verb::Reject, &a.token, Style::Stop)];
        if !expanded {
            row.push(button("Details", Verb::Details, &a.token, Style::Neutral));
        }
        buttons.push(row);
        if !review && a.risk == Risk::Low && low_batch > 1 {
            buttons.push(vec![button(
                format!("Approve all {low_batch} low-risk"),
                Verb::ApproveAllLow,
                &a.token,
                Style::Go,
            )]);
        }
    }
    Card { title, lines, details, expanded, closed, buttons }
}

/// A workflow's question: what it asks, and one button per choice.
fn question_card(a: &Approval, q: &Question, expanded: bool, now: Millis) -> Card {
    let r = &a.request;
    let text = if r.scrubbed { "(its text was forgotten)" } else { q.text.as_str() };
    let mut lines = vec![clip(text, 600)];
    if let Some(why) = &r.reason {
        lines.push(format!("From {why}"));
    }
    lines.push(format!("If nobody answers by {}: {}", when(a.expires_at), q.default));
    let details = vec![format!("Intent {}", a.intent_id), format!("Choices: {}", q.choices.join(", "))];
    let closed = outcome_line(a);
    let mut buttons = Vec::new();
    if closed.is_none() && a.expires_at > now {
        let mut row: Vec<Button> = q
            .choices
            .iter()
            .enumerate()
            .map(|(i, c)| button(clip(c, 32), Verb::Choose(i as u8), &a.token, Style::Neutral))
            .collect();
        if !expanded {
            row.push(button("Details", Verb::Details, &a.token, Style::Neutral));
        }
        // Discord takes five buttons a row.
        buttons = row.chunks(5).map(<[Button]>::to_vec).collect();
    }
    Card { title: "Question".to_owned(), lines, details, expanded, closed, buttons }
}

/// The most destination lines a card shows; more are counted.
const MAX_DESTINATIONS: usize = 10;

/// Where the steps reach, one line per destination, always on the card
/// (never only under Details, and never crowded out by a large body): what
/// each step does and every address it may touch, its undo included.
fn reaches(request: &ApprovalRequest) -> Vec<String> {
    let mut lines = Vec::new();
    for step in &request.steps {
        for d in &step.destinations {
            lines.push(format!(
                "{}. {}.{} → {}: {}",
                step.seq + 1,
                step.adapter,
                step.action,
                d.arg,
                clip(&d.value, 200)
            ));
        }
    }
    if lines.len() > MAX_DESTINATIONS {
        let more = lines.len() - MAX_DESTINATIONS;
        lines.truncate(MAX_DESTINATIONS);
        lines.push(format!("… and {more} more destinations (Details)"));
    }
    lines
}

/// Loads an approval by id or token.
pub async fn load(store: &Store, id: &str) -> Result<Option<Approval>, StoreError> {
    let mut conn = store.reader().acquire().await?;
    approvals::get(&mut conn, id).await
}

/// How many low-risk approve-before requests, requested no later than `a`,
/// are waiting: what an "Approve all" press on `a`'s card would approve.
pub async fn low_batch(store: &Store, a: &Approval) -> Result<usize, StoreError> {
    let waiting =
        approvals::list(store.reader(), &Filter { state: Some(ApprovalState::Pending), ..Default::default() }).await?;
    Ok(waiting
        .iter()
        .filter(|w| w.risk == Risk::Low && w.kind == ApprovalKind::ApproveBefore && w.requested_at <= a.requested_at)
        .count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IntentId;
    use crate::store::now_millis;
    use serde_json::json;

    fn approval(risk: Risk, kind: ApprovalKind) -> Approval {
        let request = serde_json::from_value(json!({"intent_id": "I", "summary": "Pay <ACME> & co",
            "asked_by": "telegram:1", "channel": "telegram",
            "steps": [{"seq": 0, "adapter": "webhook", "action": "post", "args": {"url": "http://x"}, "risk": "high",
                       "compensation": "none: this step cannot be undone"}], "policy_version": "abc"}))
        .unwrap();
        Approval::pending(IntentId::new(), kind, risk, "amount_over_100", request, now_millis(), now_millis() + 60_000)
    }

    #[test]
    fn an_open_card_has_its_verbs_and_a_closed_one_none() {
        let mut a = approval(Risk::Low, ApprovalKind::ApproveBefore);
        let card = approval_card(&a, false, 3, now_millis());
        let data: Vec<&str> = card.buttons.iter().flatten().map(|b| b.data.split(':').next().unwrap()).collect();
        assert_eq!(data, ["a", "r", "d", "L"]);
        assert!(card.buttons.iter().flatten().all(|b| b.data.len() <= 64), "fits Telegram's callback data");
        assert_eq!(
            approval_card(&a, true, 1, now_millis()).buttons[0].len(),
            2,
            "expanded: no Details; alone: no batch"
        );
        a.state = ApprovalState::Approved;
        a.decided_by = Some("telegram:1".into());
        a.decided_at = Some(0);
        let card = approval_card(&a, false, 3, now_millis());
        assert!(card.buttons.is_empty());
        assert!(card.closed.unwrap().starts_with("✅ Approved by telegram:1"));
    }

    #[test]
    fn a_review_card_offers_keep_and_undo() {
        let card = approval_card(&approval(Risk::Medium, ApprovalKind::ReviewAfter), false, 0, now_millis());
        let labels: Vec<&str> = card.buttons[0].iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["Keep", "Undo", "Details"]);
        assert!(card.details.iter().any(|d| d.contains("webhook.post")));
    }

    /// Guarantee: an approval card never hides a destination, whatever the
    /// size of the body: every address a step may reach, its undo included,
    /// is on the card before Details is pressed.
    #[test]
    fn every_destination_shows_whatever_the_size_of_the_body() {
        let step = crate::domain::PlannedStep::parse(
            "webhook",
            "call",
            json!({"url": "https://pay.example/charge", "body": {"blob": "x".repeat(50_000)},
                   "status_url": "https://pay.example/status/{key}",
                   "compensate": {"url": "http://169.254.169.254/undo"}}),
        )
        .unwrap();
        let destinations = crate::adapters::destinations_of(&step)
            .into_iter()
            .map(|d| crate::domain::DestinationView { arg: d.arg, value: d.value })
            .collect();
        let mut a = approval(Risk::High, ApprovalKind::ApproveBefore);
        a.request.steps[0].destinations = destinations;
        a.request.steps[0].args = step.args.clone();
        let card = approval_card(&a, false, 0, now_millis());
        for shown in ["https://pay.example/charge", "https://pay.example/status/{key}", "http://169.254.169.254/undo"] {
            assert!(card.lines.iter().any(|l| l.contains(shown)), "{shown} is on the card: {:#?}", card.lines);
        }
    }
}
