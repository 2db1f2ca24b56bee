//! The order of the tiers: each one answers if it can, or says why not and
//! hands the request on.

use super::answer::{DONT_KNOW, reader_key};
use super::commands::Effect;
use super::plan::Reading;
use super::roles::ModelTier;
use super::router::Route;
use super::{Inbound, Input, Outcome, Reasoner, ReasoningError};
use crate::domain::Command;

/// Words a question starts with: a request that is not routed anywhere and
/// starts with one of these (or ends with `?`) is looked up before it is
/// read as a request to act.
const QUESTION_WORDS: [&str; 24] = [
    "what", "when", "who", "whom", "whose", "where", "why", "how", "which", "did", "do", "does", "is", "are", "was",
    "were", "can", "could", "should", "has", "have", "any", "remind", "tell",
];

pub fn looks_like_question(text: &str) -> bool {
    let first = text.split_whitespace().next().unwrap_or("").to_lowercase();
    let first = first.trim_matches(|c: char| !c.is_alphanumeric());
    text.trim_end().ends_with('?') || QUESTION_WORDS.contains(&first)
}

/// A request that lists several things to do ("bill them, send the invoice
/// and follow up") is a multi-step goal: it goes straight to the planner
/// instead of through the fast model first.
pub fn looks_multi_step(text: &str) -> bool {
    let t = text.to_lowercase();
    let joins: usize = [", ", " and ", " then ", "; "].iter().map(|j| t.matches(j).count()).sum();
    joins >= 2
}

impl Reasoner {
    pub(super) async fn reason(&self, inbound: &Inbound) -> Result<Outcome, ReasoningError> {
        // Tier 0: buttons, commands, the exact cache.
        // Commands and presses were parsed where they came in.
        let text = match &inbound.input {
            Input::Press(press) => {
                let Some(cmd) = press.command() else {
                    let o = Outcome::reply(0, "Details are shown on the card itself.", 1.0);
                    return self.commit_reply(inbound, o, Effect::None).await;
                };
                return self.command(inbound, cmd, 0).await;
            }
            Input::Command(Command::Ask(q)) => q.trim().to_owned(),
            Input::Command(cmd) => return self.command(inbound, cmd.clone(), 0).await,
            Input::Text(t) => t.trim().to_owned(),
        };
        if text.is_empty() {
            return self.command(inbound, Command::Help, 0).await;
        }
        let contract = self.contract(&inbound.actor);
        let reader = reader_key(&contract);
        if let Some(hit) = self.cached(&text, &reader, None).await? {
            return self.commit_reply(inbound, hit, Effect::None).await;
        }

        // Tier 1: embed once; route; the semantic cache; memory.
        let vector = self.memory.embedder().embed(std::slice::from_ref(&text)).await?.pop().unwrap_or_default();
        let routed = self.router.route(&vector);
        let route = routed.map(|r| r.intent.route);
        let route_name = routed.map(|r| r.intent.name.clone());
        let named = |mut o: Outcome| {
            o.route = route_name.clone();
            o
        };
        if let Some(r) = routed {
            match (r.intent.route, r.intent.command.as_deref(), &r.intent.reply) {
                (Route::Command, Some(command), _) => {
                    let cmd = match command {
                        "status" => Command::Status,
                        "pending" => Command::Pending,
                        _ => Command::Help,
                    };
                    return Ok(named(self.command(inbound, cmd, 1).await?));
                }
                (Route::Chat, _, Some(reply)) => {
                    let o = named(Outcome::reply(1, reply.clone(), r.similarity));
                    return self.commit_reply(inbound, o, Effect::None).await;
                }
                _ => {}
            }
        }
        let mut escalations = Vec::new();
        let asks = route == Some(Route::Recall) || (route.is_none() && looks_like_question(&text));
        if asks {
            if let Some(hit) = self.cached(&text, &reader, Some(&vector)).await? {
                return self.commit_reply(inbound, named(hit), Effect::None).await;
            }
            let hits = self.retrieve(&text, &vector, &contract).await?;
            if let Some(o) = self.extract(&text, &hits) {
                let o = named(o);
                self.remember_answer(&text, &reader, &vector, &o).await?;
                return self.commit_reply(inbound, o, Effect::None).await;
            }
            escalations.push("no record answers it confidently".to_owned());
            return self.answer_with_model(inbound, &text, &reader, &vector, &hits, escalations).await.map(named);
        }

        // Acting is the operator's alone.
        if !self.acts(&inbound.actor) {
            let o = Outcome::reply(
                1,
                "Only the operator can ask me to act; I can answer questions about the workspace.",
                1.0,
            );
            return self.commit_reply(inbound, named(o), Effect::None).await;
        }
        if route == Some(Route::Goal) || looks_multi_step(&text) {
            escalations.push("a multi-step goal".to_owned());
        } else {
            // Tier 2: the executor reads it.
            escalations.push(match route {
                Some(_) => "routed as a one-step action: its arguments need the fast model".to_owned(),
                None => "no intent is near enough".to_owned(),
            });
            if let Some(why) = self.unavailable(ModelTier::Fast).await? {
                escalations.push(why);
                return self
                    .create_intent(inbound, &text, self.roles.get("executor"), None, 1, escalations)
                    .await
                    .map(named);
            }
            let hint = routed.and_then(|r| r.intent.adapter.as_deref());
            match self.execute_reading(inbound, &text, hint).await? {
                Ok(Reading::Action(plan, summary)) => {
                    let role = self.roles.get("executor");
                    return self
                        .create_intent(inbound, &text, role, Some((plan, summary)), 2, escalations)
                        .await
                        .map(named);
                }
                Ok(Reading::Question) => {
                    escalations.push("the fast model read it as a question".to_owned());
                    let hits = self.retrieve(&text, &vector, &contract).await?;
                    return self
                        .answer_with_model(inbound, &text, &reader, &vector, &hits, escalations)
                        .await
                        .map(named);
                }
                Ok(Reading::Escalate(why)) => escalations.push(why),
                Err(why) => escalations.push(format!("the fast model gave no usable answer: {why}")),
            }
        }

        // Tier 3: the planner.
        let planner = self.roles.get("planner");
        if let Some(why) = self.unavailable(ModelTier::Deep).await? {
            escalations.push(why);
            return self.create_intent(inbound, &text, planner, None, 2, escalations).await.map(named);
        }
        let hits = self.retrieve(&text, &vector, &contract).await?;
        match self.plan(inbound, &text, &hits).await? {
            Ok(planned) => self.create_intent(inbound, &text, planner, Some(planned), 3, escalations).await,
            Err(why) => {
                escalations.push(why);
                self.create_intent(inbound, &text, planner, None, 3, escalations).await
            }
        }
        .map(named)
    }

    /// Tier 2 for a question: the researcher, or, with no model, the
    /// operator (a collaborator is told plainly that nobody knows yet).
    #[tracing::instrument(name = "tier", skip_all, fields(tier = 2, role = "researcher"))]
    async fn answer_with_model(
        &self,
        inbound: &Inbound,
        text: &str,
        reader: &str,
        vector: &[f32],
        hits: &[crate::memory::Hit],
        mut escalations: Vec<String>,
    ) -> Result<Outcome, ReasoningError> {
        if let Some(why) = self.unavailable(ModelTier::Fast).await? {
            escalations.push(why);
            if self.acts(&inbound.actor) {
                let role = self.roles.get("researcher");
                return self.create_intent(inbound, text, role, None, 1, escalations).await;
            }
            let mut o = Outcome::reply(1, DONT_KNOW, 0.0);
            o.escalations = escalations;
            return self.commit_reply(inbound, o, Effect::None).await;
        }
        let o = self.research(inbound, text, hits, escalations).await?;
        if !o.citations.is_empty() {
            self.remember_answer(text, reader, vector, &o).await?;
        }
        self.commit_reply(inbound, o, Effect::None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_are_told_from_requests() {
        assert!(looks_like_question("When is INV-2041 due?"));
        assert!(looks_like_question("who is our contact at Globex"));
        assert!(looks_like_question("INV-2041?"));
        assert!(!looks_like_question("send the invoice to ACME"));
    }

    #[test]
    fn lists_of_things_to_do_are_goals() {
        assert!(looks_multi_step("bill ACME, send the invoice and follow up next week"));
        assert!(!looks_multi_step("add a note saying ACME wants a discount"));
        assert!(!looks_multi_step("email Tom and Lena the agenda"));
    }
}
