//! Requests to act: the executor (fast model) extracts a one-step action,
//! the planner (deep model) writes a multi-step plan, and the `qa` role
//! checks every plan before it may become an intent: always against the
//! adapter catalog, the role's allowed adapters and the policy, and, when
//! enabled, by a model review too. A plan that fails gets one repair attempt
//! with the errors; after that the request goes to the operator.

use serde::Deserialize;
use serde_json::{Value, json};

use super::recall::{context_for, records_block};
use super::roles::Role;
use super::{Answer, Inbound, Kind, Reasoner, ReasoningError};
use crate::domain::{Actor, Intent, IntentText, MemoryKind, Plan, PlannedStep, Provenance};
use crate::memory::Hit;
use crate::orchestrator::intent_machine::IntentEvent;
use crate::store::StoreError;
use crate::store::intents::{self, Created};

#[cfg(test)]
mod tests {
    #[test]
    fn signatures_are_compact() {
        let schema = serde_json::json!({"required": ["url"], "properties": {"url": {"type": "string"}, "method": {"enum": ["GET", "POST"]}, "body": {}}});
        assert_eq!(
            super::signature("webhook", "call", &schema),
            "webhook.call(url: string, method?: GET|POST, body?: any)"
        );
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawStep {
    adapter: String,
    action: String,
    #[serde(default)]
    args: Value,
    within_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Classified {
    kind: ReadAs,
    confidence: f32,
    #[serde(default)]
    summary: String,
    step: Option<RawStep>,
}

/// What the fast model read a request as (`shape::of("executor")`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReadAs {
    Action,
    Goal,
    Answer,
    /// `unclear`, or a reading the prompt does not offer.
    #[serde(other)]
    Unclear,
}

#[derive(Debug, Deserialize)]
struct RawPlan {
    #[serde(default)]
    summary: String,
    steps: Vec<RawStep>,
}

#[derive(Debug, Deserialize)]
struct Review {
    approve: bool,
    #[serde(default)]
    problems: Vec<String>,
}

/// `adapter.action(arg: type, optional?: type)` from an argument schema.
fn signature(adapter: &str, action: &str, schema: &Value) -> String {
    let required: Vec<&str> =
        schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let args: Vec<String> = schema["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(name, p)| {
                    let ty = match (&p["type"], &p["enum"]) {
                        (Value::String(t), _) => t.clone(),
                        (_, Value::Array(options)) => {
                            options.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("|")
                        }
                        _ => "any".to_owned(),
                    };
                    let optional = if required.contains(&name.as_str()) { "" } else { "?" };
                    format!("{name}{optional}: {ty}")
                })
                .collect()
        })
        .unwrap_or_default();
    format!("{adapter}.{action}({})", args.join(", "))
}

/// What the executor made of a request.
pub enum Reading {
    /// A valid one-step plan.
    Action(Plan, String),
    /// A question after all.
    Question,
    /// For the planner, and why.
    Escalate(String),
}

impl Reasoner {
    /// The catalog as the models see it. The planner gets each action's
    /// full JSON Schema; the fast model a compact signature per action
    /// (`note.write(text: string)`), and only the routed adapter's when the
    /// router named one: small models do better, and cheaper, with less.
    fn catalog_text(&self, role: &Role, only: Option<&str>, full: bool) -> String {
        let descriptions = role
            .adapters
            .iter()
            .filter(|name| only.is_none_or(|o| o == name.as_str()))
            .filter_map(|name| self.catalog.get(name))
            .map(|(a, _)| a.describe());
        if full {
            let all: Vec<Value> = descriptions.map(|d| serde_json::to_value(d).unwrap_or_default()).collect();
            return serde_json::to_string(&all).unwrap_or_default();
        }
        descriptions
            .flat_map(|d| d.actions.into_iter().map(move |a| signature(d.name, a.name, &a.args_schema)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The deterministic half of `qa`: the steps exist, their arguments fit
    /// their schemas, and the role may use their adapters. (The policy's
    /// judgement of the plan is reported with it, and enforced when the
    /// intent is admitted.)
    fn check(&self, role: &Role, raw: &[RawStep]) -> Result<Plan, Vec<String>> {
        let mut errors = Vec::new();
        let mut steps = Vec::new();
        if raw.is_empty() {
            errors.push("the plan has no steps".to_owned());
        }
        for (seq, s) in raw.iter().enumerate() {
            if !role.may_use(&s.adapter) {
                errors.push(format!("step {seq}: role {} may not use adapter `{}`", role.name, s.adapter));
                continue;
            }
            let step = PlannedStep::parse(&s.adapter, &s.action, s.args.clone()).and_then(|mut p| {
                p.within_secs = s.within_secs;
                self.catalog.validate(&p).map(|()| p)
            });
            match step {
                Ok(p) => steps.push(p),
                Err(e) => errors.push(format!("step {seq}: {e}")),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Plan::new(steps).map_err(|e| vec![e.to_string()])
    }

    /// The model half of `qa`, when enabled; a review that fails to arrive
    /// refuses the plan (it is not checked, so it does not run unattended).
    async fn review(&self, inbound: &Inbound, text: &str, plan: &Plan) -> Result<Vec<String>, ReasoningError> {
        if !self.config.qa_review {
            return Ok(vec![]);
        }
        let role = self.models.role("qa");
        let user = format!("Request: {text}\n\nPlan: {}", json!(plan.steps()));
        Ok(match self.models.ask::<Review>(role, &user, inbound).await? {
            Ok(r) if r.approve => vec![],
            Ok(r) if r.problems.is_empty() => vec!["the reviewer refused the plan without a reason".into()],
            Ok(r) => r.problems.into_iter().map(|p| format!("review: {p}")).collect(),
            Err(why) => vec![format!("the review gave no usable answer: {why}")],
        })
    }

    /// Tier 2: the executor reads a request to act.
    #[tracing::instrument(name = "tier", skip_all, fields(tier = 2, role = "executor"))]
    pub(super) async fn execute_reading(
        &self,
        inbound: &Inbound,
        text: &str,
        hint: Option<&str>,
    ) -> Result<Result<Reading, String>, ReasoningError> {
        let role = self.models.role("executor");
        // A routed request sees only its adapter's schema; if it needs
        // another, the model says "goal" and the planner sees them all.
        let hint = hint.filter(|a| role.may_use(a) && self.catalog.get(a).is_some());
        let user = format!("Catalog: {}\n\nRequest: {text}", self.catalog_text(role, hint, false));
        let c = match self.models.ask::<Classified>(role, &user, inbound).await? {
            Ok(c) => c,
            Err(why) => return Ok(Err(why)),
        };
        if !(0.0..=1.0).contains(&c.confidence) {
            return Ok(Ok(Reading::Escalate(format!("the fast model's confidence {} is not in 0..1", c.confidence))));
        }
        if c.confidence < self.config.escalate_below {
            return Ok(Ok(Reading::Escalate(format!("the fast model is unsure ({:.2})", c.confidence))));
        }
        Ok(Ok(match (c.kind, c.step) {
            (ReadAs::Answer, _) => Reading::Question,
            (ReadAs::Action, Some(step)) => match self.check(role, std::slice::from_ref(&step)) {
                Ok(plan) => match self.review(inbound, text, &plan).await?.as_slice() {
                    [] => Reading::Action(plan, c.summary),
                    problems => Reading::Escalate(problems.join("; ")),
                },
                Err(errors) => Reading::Escalate(format!("the fast model's step is invalid: {}", errors.join("; "))),
            },
            (ReadAs::Action, None) => Reading::Escalate("the fast model named no step".into()),
            (ReadAs::Goal, _) => Reading::Escalate("a multi-step goal".into()),
            (ReadAs::Unclear, _) => Reading::Escalate("the fast model found it unclear".into()),
        }))
    }

    /// Whether a record may be given to the planner as knowledge: what is
    /// so (never what was asked, or asked for), and a message only when the
    /// operator said it. Anyone else's words, however they are phrased,
    /// never shape a plan.
    fn is_knowledge(&self, h: &Hit) -> bool {
        let operator = || {
            h.provenance.written_by_operator()
                || h.provenance
                    .actor
                    .split_once(':')
                    .is_some_and(|(channel, id)| self.people.acts(&Actor::new(channel, id)))
        };
        h.kind.citable() && (h.kind != MemoryKind::Statement || operator())
    }

    /// The planner's user message: the catalog, the request, and the
    /// records it may read that bear on it.
    fn planner_message(&self, inbound: &Inbound, text: &str, hits: &[Hit]) -> String {
        let role = self.models.role("planner");
        let context: Vec<&Hit> =
            context_for(role, &inbound.actor, hits).into_iter().filter(|h| self.is_knowledge(h)).collect();
        format!("Catalog: {}\n\nRequest: {text}\n\n{}", self.catalog_text(role, None, true), records_block(&context))
    }

    /// What the planner would be sent for `inbound`: its system prompt and
    /// user message. Public so a benchmark can price sending every request
    /// to the planner.
    pub async fn planner_prompt(&self, inbound: &Inbound, text: &str) -> Result<(String, String), ReasoningError> {
        let vector = self.recall.embed(text).await?;
        let hits = self.recall.retrieve(text, &vector, &self.people.contract(&inbound.actor)).await?;
        Ok((self.models.role("planner").prompt.clone(), self.planner_message(inbound, text, &hits)))
    }

    /// Tier 3: the planner writes a plan; `qa` checks it; one repair.
    #[tracing::instrument(name = "tier", skip_all, fields(tier = 3, role = "planner"))]
    pub(super) async fn plan(
        &self,
        inbound: &Inbound,
        text: &str,
        hits: &[Hit],
    ) -> Result<Result<(Plan, String), String>, ReasoningError> {
        let role = self.models.role("planner");
        let base = self.planner_message(inbound, text, hits);
        let mut user = base.clone();
        let mut last = String::new();
        for attempt in 0..2 {
            let errors = match self.models.ask::<RawPlan>(role, &user, inbound).await? {
                Err(why) => vec![format!("your answer was not the JSON asked for: {why}")],
                Ok(raw) => match self.check(role, &raw.steps) {
                    Ok(plan) => match self.review(inbound, text, &plan).await?.as_slice() {
                        [] => return Ok(Ok((plan, raw.summary))),
                        problems => problems.to_vec(),
                    },
                    Err(errors) => errors,
                },
            };
            last = errors.join("; ");
            self.metrics
                .inc("steward_plans_refused_total", &[("attempt", if attempt == 0 { "first" } else { "repair" })]);
            user = format!(
                "{base}\n\nYour previous plan was refused:\n- {}\nWrite a corrected plan.",
                errors.join("\n- ")
            );
        }
        Ok(Err(format!("the plan failed its checks twice: {last}")))
    }

    /// Writes a planned intent, shaped by `role`, linked to the inbound event.
    pub(super) async fn create_intent(
        &self,
        inbound: &Inbound,
        text: &str,
        role: &Role,
        planned: Option<(Plan, String)>,
        tier: u8,
        escalations: Vec<String>,
    ) -> Result<Answer, ReasoningError> {
        let mut provenance = Provenance::operator(&inbound.channel, &inbound.actor.to_string());
        provenance.agent = role.name.clone();
        provenance.agent_version = role.version.clone();
        let text = IntentText::parse(text).map_err(|e| ReasoningError::Setup(e.to_string()))?;
        let judged = match planned.as_ref() {
            Some((plan, _)) => {
                let policy = self.policy.get();
                let dns = std::time::Duration::from_secs(2);
                let facts = crate::orchestrator::gate::facts_of(&self.catalog, &policy, plan, dns).await;
                let j = policy.judge(plan, &facts);
                let what = match j.mode {
                    crate::policy::Mode::Auto => "it runs now",
                    crate::policy::Mode::ReviewAfter => "it runs now, and you can undo it afterwards",
                    crate::policy::Mode::ApproveBefore => "it waits for your approval",
                };
                Some(format!("{} risk ({}): {what}", j.risk.as_str(), j.rule))
            }
            None => None,
        };
        let (plan, why) = match planned {
            Some((plan, summary)) => (Some(plan), summary),
            None => (None, escalations.last().cloned().unwrap_or_default()),
        };
        provenance.reason = Some(why.clone()).filter(|w| !w.is_empty());
        let now = self.store.now();
        let intent = Intent::new(text, provenance, plan, now);
        let planned = intent.plan.is_some();
        let payload = super::payload(&inbound.input);
        let actor = inbound.actor.to_string();
        let ib = crate::store::inbox::Inbound {
            channel: &inbound.channel,
            external_id: &inbound.external_id,
            actor: &actor,
            payload: &payload,
        };
        let mut tx = self.store.begin().await?;
        let id = match intents::create_in(&mut tx, intent, Some(&ib)).await {
            Ok(Created::New(intent)) => intent.id,
            Ok(Created::Existing(id)) => {
                drop(tx);
                return self.duplicate((Some(id), None)).await;
            }
            Err(StoreError::IdempotencyConflict(_)) => {
                drop(tx);
                return self.duplicate((None, None)).await;
            }
            Err(e) => return Err(e.into()),
        };
        if !planned {
            let detail = json!({"why": why, "escalations": escalations});
            crate::orchestrator::apply_event(&mut tx, id, IntentEvent::Escalate, now, "reasoning", detail).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        self.runner.wake();
        self.metrics.inc("steward_intents_created_total", &[]);
        let state = intents::get(&self.store, id).await?.map(|i| i.state);
        let text = if planned {
            format!("Planned as intent {id}: {why}. {}.", judged.unwrap_or_default())
        } else {
            format!("I could not plan this myself: {why}. I saved it as intent {id}, waiting for you.")
        };
        let mut outcome = Answer::reply(tier, text, if planned { 1.0 } else { 0.0 });
        (outcome.kind, outcome.intent_id, outcome.intent_state, outcome.escalations) =
            (Kind::Intent, Some(id), state, escalations);
        Ok(outcome)
    }
}
