//! The order of the tiers: each one answers if it can, or says why not and
//! hands the request on.

pub use super::asking::{asks_to_act, looks_like_question};
use super::commands::Effect;
use super::flow_router::Named;
use super::plan::Reading;
use super::recall::{NO_MODEL, reader_key};
use super::roles::ModelTier;
use super::router::{Route, Routed};
use super::{Answer, Inbound, Input, Reasoner, ReasoningError};
use crate::domain::Command;
use crate::memory::{Contract, Hit};

/// A request that lists several things to do ("bill them, send the invoice
/// and follow up") is a multi-step goal: it goes straight to the planner
/// instead of through the fast model first.
pub fn looks_multi_step(text: &str) -> bool {
    let t = text.to_lowercase();
    let joins: usize = [", ", " and ", " then ", "; "].iter().map(|j| t.matches(j).count()).sum();
    joins >= 2
}

/// A request on its way up the tiers: what it says, what its asker may
/// read, its one embedding and route, and why each passed tier did not
/// answer.
struct Request<'a> {
    inbound: &'a Inbound,
    text: String,
    contract: Contract,
    /// The contract as a cache key: cached answers never cross it.
    reader: String,
    vector: Vec<f32>,
    routed: Option<Routed<'a>>,
    /// The workflow whose example phrase is nearest, when near enough.
    workflow: Option<Named>,
    escalations: Vec<String>,
}

impl Request<'_> {
    fn route(&self) -> Option<Route> {
        self.routed.map(|r| r.intent.route)
    }

    /// A question (routed to recall, or worded as one): looked up before it
    /// could be read as a request to act.
    fn asks(&self) -> bool {
        let route = self.route();
        route == Some(Route::Recall) || (route.is_none() && looks_like_question(&self.text))
    }

    /// The outcome, with the router's intent it was routed to (unless it
    /// names its own route: a workflow's).
    fn named(&self, mut outcome: Answer) -> Answer {
        if outcome.route.is_none() {
            outcome.route = self.routed.map(|r| r.intent.name.clone());
        }
        outcome
    }

    fn escalations(&mut self) -> Vec<String> {
        std::mem::take(&mut self.escalations)
    }
}

/// What a tier did with a request: answered it, or passed it on.
enum Flow<T> {
    Answered(Answer),
    Passed(T),
}

impl Reasoner {
    /// The cascade: each tier answers if it can, or says why not and passes
    /// the request up.
    pub(super) async fn reason(&self, inbound: &Inbound) -> Result<Answer, ReasoningError> {
        let text = match self.tier0(inbound).await? {
            Flow::Answered(outcome) => return Ok(outcome),
            Flow::Passed(text) => text,
        };
        let mut request = self.read(inbound, text).await?;
        let outcome = match self.tier1(&mut request).await? {
            Flow::Answered(outcome) => outcome,
            Flow::Passed(()) => match self.tier2(&mut request).await? {
                Flow::Answered(outcome) => outcome,
                Flow::Passed(()) => self.tier3(&mut request).await?,
            },
        };
        Ok(request.named(outcome))
    }

    /// Tier 0: presses and commands (parsed where they came in), and the
    /// exact answer cache.
    async fn tier0(&self, inbound: &Inbound) -> Result<Flow<String>, ReasoningError> {
        let text = match &inbound.input {
            Input::Press(press) => {
                let outcome = match press.command() {
                    Some(cmd) => self.command(inbound, cmd, 0).await?,
                    None => {
                        let o = Answer::reply(0, "Details are shown on the card itself.", 1.0);
                        self.commit_reply(inbound, o, Effect::None).await?
                    }
                };
                return Ok(Flow::Answered(outcome));
            }
            Input::Command(Command::Ask(q)) => q.trim().to_owned(),
            Input::Command(cmd) => return Ok(Flow::Answered(self.command(inbound, cmd.clone(), 0).await?)),
            Input::Text(t) => t.trim().to_owned(),
        };
        // "remind me …", typed or asked (a Discord mention, `/ask`).
        if crate::workflows::phrases::is_reminder(&text) {
            return Ok(Flow::Answered(self.command(inbound, Command::Remind(text), 0).await?));
        }
        // The answer to a question steward asked for a workflow's argument.
        if let Some(answered) = self.answer_form(inbound, &text).await? {
            return Ok(Flow::Answered(answered));
        }
        if text.is_empty() {
            return Ok(Flow::Answered(self.command(inbound, Command::Help, 0).await?));
        }
        let reader = reader_key(&self.people.contract(&inbound.actor));
        match self.recall.cached(&text, &reader, None).await? {
            Some(hit) => Ok(Flow::Answered(self.commit_reply(inbound, hit, self.asked(inbound, &text)).await?)),
            None => Ok(Flow::Passed(text)),
        }
    }

    /// Tier 1 begins: the request's one embedding, and the router's intent.
    async fn read<'a>(&'a self, inbound: &'a Inbound, text: String) -> Result<Request<'a>, ReasoningError> {
        let contract = self.people.contract(&inbound.actor);
        let vector = self.recall.embed(&text).await?;
        let threshold = self.config.route_threshold;
        let workflow = self.phrases.nearest(&self.recall, &self.workflows, &text, &vector, threshold).await?;
        Ok(Request {
            inbound,
            reader: reader_key(&contract),
            contract,
            routed: self.recall.route(&text, &vector).await?,
            workflow,
            vector,
            text,
            escalations: vec![],
        })
    }

    /// Tier 1: a routed command or chat line; a question answered from the
    /// semantic cache or memory (or, failing that, by the researcher); and
    /// the refusal of a request to act from someone who may not.
    async fn tier1(&self, r: &mut Request<'_>) -> Result<Flow<()>, ReasoningError> {
        let inbound = r.inbound;
        // A request to do what a saved workflow does, nearer its examples
        // than any built-in intent's.
        if let Some(named) = r.workflow.take() {
            let built_in = r.routed.map_or(f32::MIN, |routed| routed.similarity);
            if named.similarity > built_in && asks_to_act(&r.text) {
                if !self.people.acts(&inbound.actor) {
                    return Ok(Flow::Answered(self.refuse_to_act(inbound).await?));
                }
                return Ok(Flow::Answered(self.run_named(inbound, &r.text, named).await?));
            }
        }
        if let Some(routed) = r.routed {
            match (routed.intent.route, routed.intent.command.as_deref(), &routed.intent.reply) {
                (Route::Command, Some(command), _) => {
                    let cmd = match command {
                        "status" => Command::Status,
                        "pending" => Command::Pending,
                        _ => Command::Help,
                    };
                    return Ok(Flow::Answered(self.command(inbound, cmd, 1).await?));
                }
                (Route::Chat, _, Some(reply)) => {
                    let o = Answer::reply(1, reply.clone(), routed.similarity);
                    return Ok(Flow::Answered(self.commit_reply(inbound, o, Effect::None).await?));
                }
                _ => {}
            }
        }
        if r.asks() {
            if let Some(hit) = self.recall.cached(&r.text, &r.reader, Some(&r.vector)).await? {
                return Ok(Flow::Answered(self.commit_reply(inbound, hit, self.asked(inbound, &r.text)).await?));
            }
            let hits = self.recall.retrieve(&r.text, &r.vector, &r.contract).await?;
            if let Some(o) = self.recall.extract(&r.text, &hits) {
                let o = r.named(o);
                self.recall.remember_answer(&r.text, &r.reader, &r.vector, &o).await?;
                return Ok(Flow::Answered(self.commit_reply(inbound, o, self.asked(inbound, &r.text)).await?));
            }
            r.escalations.push("no record answers it confidently".to_owned());
            return Ok(Flow::Answered(self.answer_with_model(r, &hits).await?));
        }
        // Acting is the operator's alone.
        if !self.people.acts(&inbound.actor) {
            return Ok(Flow::Answered(self.refuse_to_act(inbound).await?));
        }
        Ok(Flow::Passed(()))
    }

    async fn refuse_to_act(&self, inbound: &Inbound) -> Result<Answer, ReasoningError> {
        let no = "Only the operator can ask me to act; I can answer questions about the workspace.";
        self.commit_reply(inbound, Answer::reply(1, no, 1.0), Effect::None).await
    }

    /// Tier 2: the executor (fast model) reads a one-step action. A
    /// multi-step goal skips it.
    async fn tier2(&self, r: &mut Request<'_>) -> Result<Flow<()>, ReasoningError> {
        let route = r.route();
        if route == Some(Route::Goal) || looks_multi_step(&r.text) {
            r.escalations.push("a multi-step goal".to_owned());
            return Ok(Flow::Passed(()));
        }
        r.escalations.push(match route {
            Some(_) => "routed as a one-step action: its arguments need the fast model".to_owned(),
            None => "no intent is near enough".to_owned(),
        });
        let executor = self.models.role("executor");
        if let Some(why) = self.models.unavailable(ModelTier::Fast).await? {
            r.escalations.push(why);
            let escalations = r.escalations();
            let outcome = self.create_intent(r.inbound, &r.text, executor, None, 1, escalations).await?;
            return Ok(Flow::Answered(outcome));
        }
        let hint = r.routed.and_then(|routed| routed.intent.adapter.as_deref());
        match self.execute_reading(r.inbound, &r.text, hint).await? {
            Ok(Reading::Action(plan, summary)) => {
                let planned = Some((plan, summary));
                let escalations = r.escalations();
                let outcome = self.create_intent(r.inbound, &r.text, executor, planned, 2, escalations).await?;
                return Ok(Flow::Answered(outcome));
            }
            Ok(Reading::Question) => {
                r.escalations.push("the fast model read it as a question".to_owned());
                let hits = self.recall.retrieve(&r.text, &r.vector, &r.contract).await?;
                return Ok(Flow::Answered(self.answer_with_model(r, &hits).await?));
            }
            Ok(Reading::Escalate(why)) => r.escalations.push(why),
            Err(why) => r.escalations.push(format!("the fast model gave no usable answer: {why}")),
        }
        Ok(Flow::Passed(()))
    }

    /// Tier 3: the planner (deep model) writes a plan, or the request waits
    /// for the operator with the reasons it could not be planned.
    async fn tier3(&self, r: &mut Request<'_>) -> Result<Answer, ReasoningError> {
        let planner = self.models.role("planner");
        let mut escalations = r.escalations();
        if let Some(why) = self.models.unavailable(ModelTier::Deep).await? {
            escalations.push(why);
            return self.create_intent(r.inbound, &r.text, planner, None, 2, escalations).await;
        }
        let hits = self.recall.retrieve(&r.text, &r.vector, &r.contract).await?;
        match self.plan(r.inbound, &r.text, &hits).await? {
            Ok(planned) => self.create_intent(r.inbound, &r.text, planner, Some(planned), 3, escalations).await,
            Err(why) => {
                escalations.push(why);
                self.create_intent(r.inbound, &r.text, planner, None, 3, escalations).await
            }
        }
    }

    /// Tier 2 for a question: the researcher, or, with no model, what was
    /// found nearest and that it does not answer with confidence. A
    /// question is never a to-do: it never becomes an intent.
    #[tracing::instrument(name = "tier", skip_all, fields(tier = 2, role = "researcher"))]
    async fn answer_with_model(&self, r: &mut Request<'_>, hits: &[Hit]) -> Result<Answer, ReasoningError> {
        let inbound = r.inbound;
        let asked = self.asked(inbound, &r.text);
        if let Some(why) = self.models.unavailable(ModelTier::Fast).await? {
            r.escalations.push(why);
            let mut o = Answer::reply(1, self.recall.unsure(&r.text, hits, NO_MODEL), 0.0);
            o.escalations = r.escalations();
            return self.commit_reply(inbound, o, asked).await;
        }
        let escalations = r.escalations();
        let o = r.named(self.research(inbound, &r.text, hits, escalations).await?);
        if !o.citations.is_empty() {
            self.recall.remember_answer(&r.text, &r.reader, &r.vector, &o).await?;
        }
        self.commit_reply(inbound, o, asked).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_things_to_do_are_goals() {
        assert!(looks_multi_step("bill ACME, send the invoice and follow up next week"));
        assert!(!looks_multi_step("add a note saying ACME wants a discount"));
        assert!(!looks_multi_step("email Tom and Lena the agenda"));
    }
}
