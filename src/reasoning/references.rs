//! Commands said in words that name no id ([`crate::domain::spoken`]):
//! "reject the last one", "undo the last email", "cancel the intent I just
//! made" find what they refer to and name it, and nothing is decided or
//! cancelled until the asker presses the button that confirms it (a
//! reference is never exact). "Costs this week" and "pause all
//! automations" are answered here too.

use super::commands::when;
use super::{Inbound, Reasoner, ReasoningError};
use crate::domain::{ApprovalKind, ApprovalState, Decision, IntentState, Latest, MenuAction, Period};
use crate::store::approvals::{self, Filter};
use crate::store::{ledger, workflows};

/// A reply, and the buttons under it.
pub(super) type Offered = (String, Vec<(String, MenuAction)>);

/// At most this much of a summary goes on a button.
const LABEL: usize = 40;

pub(super) fn clip(text: &str, n: usize) -> String {
    let mut out: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        out.push('…');
    }
    out
}

/// A cost in dollars as a person reads it: never `-0.0000`.
fn dollars(x: f64) -> String {
    format!("${:.4}", if x.abs() < 0.000_05 { 0.0 } else { x })
}

impl Reasoner {
    /// The newest request waiting for a decision that `latest` names: what
    /// it is, and a button that decides it.
    pub(super) async fn decide_latest(
        &self,
        inbound: &Inbound,
        decision: Decision,
        latest: &Latest,
    ) -> Result<Offered, ReasoningError> {
        if !self.people.acts(&inbound.actor) {
            return Ok(("Only the operator can approve or reject requests.".into(), vec![]));
        }
        let (kind, adapter) = match latest {
            Latest::Approval { adapter } => (ApprovalKind::ApproveBefore, adapter),
            Latest::Review { adapter } => (ApprovalKind::ReviewAfter, adapter),
            Latest::Intent => return Ok(("That names an intent, not a request to decide.".into(), vec![])),
        };
        let pending = Filter { state: Some(ApprovalState::Pending), ..Default::default() };
        let newest = approvals::list(self.store.reader(), &pending)
            .await?
            .into_iter()
            .filter(|a| a.kind == kind)
            .filter(|a| adapter.as_ref().is_none_or(|ad| a.request.steps.iter().any(|s| &s.adapter == ad)))
            .max_by_key(|a| (a.requested_at, a.id.clone()));
        let what = match (kind, adapter.as_deref()) {
            (ApprovalKind::ReviewAfter, Some(a)) => format!("{a} action done for review"),
            (ApprovalKind::ReviewAfter, None) => "action done for review".to_owned(),
            (_, Some(a)) => format!("{a} request waiting for you"),
            (_, None) => "request waiting for you".to_owned(),
        };
        let Some(a) = newest else {
            return Ok((format!("There is no {what} now."), vec![]));
        };
        let verb = match (decision, kind) {
            (Decision::Reject, ApprovalKind::ReviewAfter) => "Undo",
            (Decision::Reject, _) => "Reject",
            (Decision::Approve, ApprovalKind::ReviewAfter) => "Keep",
            (Decision::Approve, _) => "Approve",
            (Decision::Choose(_), _) => return Ok(("Answer a question with one of its choices.".into(), vec![])),
        };
        let summary = &a.request.summary;
        let text = format!(
            "The newest {what} is “{summary}” ({} risk, approval {}, intent {}, {}). {verb} it? Press the button to confirm.",
            a.risk.as_str(),
            a.id,
            a.intent_id,
            when(a.requested_at)
        );
        let button = (format!("{verb}: {}", clip(summary, LABEL)), MenuAction::Decide { target: a.id, decision });
        Ok((text, vec![button]))
    }

    /// The asker's newest intent that can be cancelled (or retried): what
    /// it is, and a button that does it.
    pub(super) async fn control_latest(&self, inbound: &Inbound, cancel: bool) -> Result<Offered, ReasoningError> {
        if !self.people.acts(&inbound.actor) {
            return Ok(("Only the operator can cancel or retry intents.".into(), vec![]));
        }
        use IntentState::*;
        let states: &[IntentState] = if cancel {
            &[Received, Planned, AwaitingApproval, Running, NeedsAttention]
        } else {
            &[Failed, NeedsAttention]
        };
        let states: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let states = states.join(", ");
        let newest: Option<(String, String, String, i64)> = sqlx::query_as(&format!(
            "SELECT id, text, state, created_at FROM intents
             WHERE (actor = ?1 OR (source = ?2 AND actor = ?3)) AND state IN ({states})
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        // Chat keeps the whole identity as the actor; the API and the CLI
        // keep the channel apart.
        .bind(inbound.actor.to_string())
        .bind(&inbound.actor.channel)
        .bind(&inbound.actor.id)
        .fetch_optional(self.store.reader())
        .await
        .map_err(crate::store::StoreError::from)?;
        let what = if cancel { "that can still be cancelled" } else { "that failed or needs you" };
        let Some((id, text, state, at)) = newest else {
            return Ok((format!("You have no intent {what}."), vec![]));
        };
        let verb = if cancel { "Cancel" } else { "Retry" };
        let reply = format!(
            "Your newest intent {what} is “{text}” ({state}, intent {id}, {}). {verb} it? Press the button to confirm.",
            when(at)
        );
        let button = (format!("{verb}: {}", clip(&text, LABEL)), MenuAction::Control { intent: id, cancel });
        Ok((reply, vec![button]))
    }

    /// What the models cost over `period`, by tier.
    pub(super) async fn costs(&self, period: Period) -> Result<String, ReasoningError> {
        let now = self.store.now();
        let day_ms = 86_400_000;
        let since = (now - now.rem_euclid(day_ms)) - i64::from(period.days() - 1) * day_ms;
        let lines = ledger::summary(self.store.reader(), since).await?;
        let over = match period {
            Period::Today => "today (UTC)".to_owned(),
            p => format!("over the last {} days (UTC)", p.days()),
        };
        if lines.is_empty() {
            return Ok(format!("No model calls {over}: nothing spent."));
        }
        let (calls, tokens_in, tokens_out, cost) = lines
            .iter()
            .fold((0, 0, 0, 0.0), |(c, i, o, d), l| (c + l.calls, i + l.tokens_in, o + l.tokens_out, d + l.cost_usd));
        let mut out = vec![format!(
            "Model spend {over}: {} over {calls} calls ({tokens_in} tokens in, {tokens_out} out).",
            dollars(cost)
        )];
        let estimated: i64 = lines.iter().map(|l| l.estimated_calls).sum();
        if estimated > 0 {
            out.push(format!(
                "{estimated} of those calls timed out, were cut off or went uncounted: their tokens are estimates."
            ));
        }
        for tier in [2u8, 3] {
            let of: Vec<_> = lines.iter().filter(|l| l.tier == tier).collect();
            if !of.is_empty() {
                let (c, d) = of.iter().fold((0, 0.0), |(c, d), l| (c + l.calls, d + l.cost_usd));
                let name = if tier == 2 { "fast model" } else { "planner" };
                out.push(format!("• tier {tier} ({name}): {c} calls, {}", dollars(d)));
            }
        }
        Ok(out.join("\n"))
    }

    /// Pauses or resumes every workflow's triggers.
    pub(super) async fn automations(&self, inbound: &Inbound, paused: bool) -> Result<String, ReasoningError> {
        if !self.people.acts(&inbound.actor) {
            return Ok("Only the operator can pause or resume automations.".into());
        }
        let names: Vec<String> = self.workflows.all().into_iter().map(|w| w.name).collect();
        if names.is_empty() {
            return Ok("There are no workflows to pause or resume.".into());
        }
        let now = self.store.now();
        let mut tx = self.store.begin().await?;
        for name in &names {
            workflows::set_paused(&mut tx, name, paused, now).await?;
        }
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        self.workflows.nudge().notify_one();
        Ok(if paused {
            format!(
                "Paused {} workflow(s): {}. Their scheduled and webhook triggers wait; say \"resume automations\" to go on.",
                names.len(),
                names.join(", ")
            )
        } else {
            format!(
                "Resumed {} workflow(s): {}. Periods missed while paused do not run.",
                names.len(),
                names.join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cost_never_shows_as_negative_zero() {
        assert_eq!(super::dollars(-0.0), "$0.0000");
        assert_eq!(super::dollars(-0.000_01), "$0.0000");
        assert_eq!(super::dollars(0.012_34), "$0.0123");
    }
}
