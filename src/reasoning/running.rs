//! Workflows started from chat: `/workflows`, `/run NAME key=value …`, and
//! a request in words near one of a workflow's example phrases. A routed
//! request's arguments come from the workflow's own patterns (for the
//! parameters they declare) and the self-evident values it holds (an email
//! address, a URL); the rest from the fast model when one may be called,
//! each value checked against what the request says. A required argument
//! still missing is asked for, one at a time, in the chat the request came
//! from; the next plain message answers it.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::commands::{Effect, FormChange};
use super::flow_router::Named;
use super::roles::ModelTier;
use super::{Answer, Inbound, Kind, Reasoner, ReasoningError};
use crate::domain::{IntentId, MAX_BUTTONS, MenuAction, Millis};
use crate::store::forms::{self, Form};
use crate::workflows::phrasing::only_one;
use crate::workflows::{Cause, Param, ParamType, Start, StartError, Started, Workflow};

/// An open question's answer when it is a reply of this many words or
/// fewer, whatever its shape: a short reply right after a question is
/// almost always its answer.
const SHORT_ANSWER_WORDS: usize = 3;

/// How long a question for a workflow's argument stays open.
pub const FORM_TTL: Millis = 60 * 60 * 1000;

/// Words that close an open question instead of answering it.
const CANCEL: [&str; 6] = ["cancel", "stop", "abort", "never mind", "nevermind", "forget it"];

/// What a request to run a workflow came to: what to say, the run's intent
/// when one started, and what the reply does to the chat's open question.
pub(super) struct Ran {
    pub text: String,
    pub intent: Option<IntentId>,
    pub effect: Effect,
}

impl Ran {
    fn told(text: impl Into<String>) -> Self {
        Self { text: text.into(), intent: None, effect: Effect::None }
    }
}

/// The question for one missing argument.
fn question(w: &Workflow, p: &Param) -> String {
    let about = if p.description.is_empty() { String::new() } else { format!(": {}", p.description) };
    let list = if matches!(p.ty, ParamType::List(_)) { ", items separated by commas" } else { "" };
    format!(
        "To start {} I need `{}` ({}{list}){about}. What is it? (Reply \"cancel\" to stop.)",
        w.name,
        p.name,
        p.ty.name()
    )
}

fn is_cancel(text: &str) -> bool {
    let t = text.trim().trim_end_matches(['.', '!']).to_lowercase();
    CANCEL.contains(&t.as_str())
}

/// Whether a value the model read is in the request: text values must be
/// found in it (a model does not invent a name or an address); numbers,
/// dates and durations may be written out in words, so they are taken as
/// read.
fn stated(value: &Value, text: &str) -> bool {
    match value {
        Value::String(s) => text.to_lowercase().contains(&s.trim().to_lowercase()),
        Value::Array(items) => items.iter().all(|i| stated(i, text)),
        _ => true,
    }
}

#[derive(Deserialize)]
struct Extracted {
    step: Option<ExtractedStep>,
}

#[derive(Deserialize)]
struct ExtractedStep {
    #[serde(default)]
    args: Map<String, Value>,
}

impl Reasoner {
    /// `/workflows`: the saved workflows, with what each takes, and a run
    /// button for each that chat may start with no arguments.
    pub(super) fn list_workflows(&self) -> (String, Vec<(String, MenuAction)>) {
        let all = self.workflows.all();
        if all.is_empty() {
            return ("No workflows are saved (put TOML files in workflows.dir).".into(), vec![]);
        }
        let buttons = all
            .iter()
            .filter(|w| w.command_trigger().is_some() && w.wanting(&Map::new()).is_empty())
            .take(MAX_BUTTONS)
            .map(|w| (format!("▶ Run {}", w.name), MenuAction::Run { workflow: w.name.clone() }))
            .collect();
        let mut lines = vec![format!("{} workflows:", all.len())];
        for w in &all {
            let params: Vec<String> = w
                .params
                .iter()
                .map(|p| if p.default.is_some() { format!("[{}]", p.name) } else { p.name.clone() })
                .collect();
            let takes = if params.is_empty() { String::new() } else { format!(" ({})", params.join(", ")) };
            let said = match w.command_trigger().and_then(|(_, p)| p.examples.first()) {
                Some(example) => format!(" Or say: “{example}”."),
                None => String::new(),
            };
            lines.push(format!("• {}{takes}: {}{said}", w.name, w.description));
        }
        lines.push("Start one with: /run NAME key=value … (what is missing, I ask for)".into());
        (lines.join("\n"), buttons)
    }

    /// `/run NAME key=value …` (or a menu's run button) as a reply: what
    /// to say, with the run's intent, and what it does to the chat's form.
    pub(super) async fn run_reply(
        &self,
        inbound: &Inbound,
        name: &str,
        args: Vec<(String, String)>,
        tier: u8,
    ) -> Result<(Answer, Effect), ReasoningError> {
        let ran = self.run_workflow(inbound, name, args).await?;
        let mut answer = Answer::reply(tier, ran.text, 1.0);
        if let Some(id) = ran.intent {
            self.runner.wake();
            (answer.kind, answer.intent_id) = (Kind::Intent, Some(id));
        }
        Ok((answer, ran.effect))
    }

    /// `/run NAME key=value …`: the values given are checked at once; a
    /// required one not given is asked for.
    async fn run_workflow(
        &self,
        inbound: &Inbound,
        name: &str,
        args: Vec<(String, String)>,
    ) -> Result<Ran, ReasoningError> {
        let Some(workflow) = self.workflows.get(name) else {
            let names: Vec<String> = self.workflows.all().into_iter().map(|w| w.name).collect();
            return Ok(Ran::told(format!("There is no workflow `{name}`. Saved: {}.", names.join(", "))));
        };
        let Some((trigger, _)) = workflow.command_trigger() else {
            let fix = "add a trigger with kind = \"command\" to its file, or run it with `steward workflows run`";
            return Ok(Ran::told(format!("Workflow {name} is not started from chat: {fix}.")));
        };
        let given: Map<String, Value> = args.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        match workflow.given(&given) {
            Ok(given) => self.start_or_ask(inbound, &workflow, &trigger.name.clone(), given, false).await,
            Err(e) => Ok(Ran::told(format!("Not started: {e}"))),
        }
    }

    /// A request in words routed to a workflow: its arguments read from
    /// it, the rest asked for.
    pub(super) async fn run_named(
        &self,
        inbound: &Inbound,
        text: &str,
        named: Named,
    ) -> Result<Answer, ReasoningError> {
        let workflow = named.workflow;
        let Some((trigger, phrasing)) = workflow.command_trigger() else {
            return self.command(inbound, crate::domain::Command::Workflows, 1).await;
        };
        let trigger = trigger.name.clone();
        let mut args = phrasing.read(text, &workflow.params);
        let mut tier = 1;
        // The fast model reads what no pattern declares and no type makes
        // self-evident (an address not in the text is in no reading of it).
        let for_model = workflow
            .wanting(&args)
            .iter()
            .any(|p| !phrasing.declares(&p.name) && !matches!(p.ty, ParamType::Email | ParamType::Url));
        if for_model && self.models.unavailable(ModelTier::Fast).await?.is_none() {
            tier = 2;
            for (k, v) in self.read_args(inbound, &workflow, text, &args).await? {
                args.entry(k).or_insert(v);
            }
        }
        let ran = self.start_or_ask(inbound, &workflow, &trigger, args, false).await?;
        let mut answer = Answer::reply(tier, ran.text, named.similarity);
        answer.route = Some(format!("workflow:{}", workflow.name));
        if let Some(id) = ran.intent {
            self.runner.wake();
            (answer.kind, answer.intent_id) = (Kind::Intent, Some(id));
        }
        self.commit_reply(inbound, answer, ran.effect).await
    }

    /// The fast model's reading of the arguments `have` lacks, each checked
    /// against its type and against what the request says.
    async fn read_args(
        &self,
        inbound: &Inbound,
        workflow: &Workflow,
        text: &str,
        have: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ReasoningError> {
        let params: Vec<String> = workflow
            .params
            .iter()
            .map(|p| {
                let optional = if p.default.is_some() { "?" } else { "" };
                format!("{}{optional}: {}", p.name, p.ty.name())
            })
            .collect();
        let user = format!(
            "Catalog: workflow.{}({}): {}\n\nRequest: {text}",
            workflow.name,
            params.join(", "),
            workflow.description
        );
        let role = self.models.role("executor");
        let Ok(Extracted { step: Some(step) }) = self.models.ask::<Extracted>(role, &user, inbound).await? else {
            return Ok(Map::new());
        };
        let mut read = Map::new();
        let phrasing = workflow.command_trigger().map(|(_, p)| p);
        for p in workflow.wanting(have) {
            if phrasing.is_some_and(|ph| ph.declares(&p.name)) {
                continue;
            }
            let Some(v) = step.args.get(&p.name).filter(|v| !v.is_null()) else { continue };
            match p.ty.check(v) {
                Ok(v) if stated(&v, text) => {
                    read.insert(p.name.clone(), v);
                }
                _ => tracing::debug!(param = %p.name, "the fast model's value is not in the request; asking instead"),
            }
        }
        Ok(read)
    }

    /// Starts the run when nothing required is missing; otherwise asks for
    /// the first missing argument, keeping what is known in the chat's
    /// form. `closes`: the reply answers the chat's open form.
    async fn start_or_ask(
        &self,
        inbound: &Inbound,
        workflow: &Workflow,
        trigger: &str,
        args: Map<String, Value>,
        closes: bool,
    ) -> Result<Ran, ReasoningError> {
        if let Some(p) = workflow.wanting(&args).first() {
            let now = self.store.now();
            let form = Form {
                chat: inbound.chat.clone(),
                actor: inbound.actor.to_string(),
                workflow: workflow.name.clone(),
                trigger: trigger.to_owned(),
                args,
                asking: p.name.clone(),
                created_at: now,
                expires_at: now + FORM_TTL,
            };
            return Ok(Ran {
                text: question(workflow, p),
                intent: None,
                effect: Effect::Form(FormChange::Save(Box::new(form))),
            });
        }
        let (text, intent) = self.start_run(inbound, workflow, trigger, args).await?;
        let effect = if closes { Effect::Form(FormChange::Close) } else { Effect::None };
        Ok(Ran { text, intent, effect })
    }

    /// A run keyed by the chat event, so a redelivered request starts
    /// nothing new: what to say, and the run's intent when there is one.
    async fn start_run(
        &self,
        inbound: &Inbound,
        workflow: &Workflow,
        trigger: &str,
        args: Map<String, Value>,
    ) -> Result<(String, Option<IntentId>), ReasoningError> {
        let name = &workflow.name;
        let start = Start {
            workflow,
            trigger,
            key: format!("chat:{}:{}", inbound.channel, inbound.external_id),
            args,
            cause: Cause::Command { channel: inbound.channel.clone() },
            actor: inbound.actor.to_string(),
            channel: inbound.channel.clone(),
            period: None,
        };
        Ok(match crate::workflows::start(&self.store, &self.catalog, &start).await {
            Ok(Started::New(id)) => (format!("Started workflow {name} as intent {id}."), Some(id)),
            Ok(Started::Existing(Some(id))) => (format!("Workflow {name} was started already: intent {id}."), Some(id)),
            Ok(Started::Existing(None) | Started::Skipped(_)) => (format!("Workflow {name} had nothing to do."), None),
            Ok(Started::Waiting(what)) => (format!("Started workflow {name}; it {what}."), None),
            Err(StartError::Store(e)) => return Err(e.into()),
            Err(e) => (format!("Not started: {e}"), None),
        })
    }

    /// A plain message from someone with an open question for a
    /// workflow's argument: the answer (checked against its type), or
    /// "cancel". `None` when there is no open question, the message is a
    /// question of its own (asked on the side; the form stays open), or
    /// its sender may no longer act.
    pub(super) async fn answer_form(&self, inbound: &Inbound, text: &str) -> Result<Option<Answer>, ReasoningError> {
        if super::pipeline::looks_like_question(text) || !self.people.acts(&inbound.actor) {
            return Ok(None);
        }
        let now = self.store.now();
        let actor = inbound.actor.to_string();
        let Some(mut form) = forms::open(self.store.reader(), &inbound.chat, &actor, now).await? else {
            return Ok(None);
        };
        let close = || Effect::Form(FormChange::Close);
        let reply = |text: String| Answer::reply(0, text, 1.0);
        if is_cancel(text) {
            let o = reply(format!("Cancelled: workflow {} was not started.", form.workflow));
            return self.commit_reply(inbound, o, close()).await.map(Some);
        }
        // A request of its own is not an answer: near a workflow's example
        // phrases, or near enough one of the router's intents (a greeting,
        // thanks, a status question, a note, a goal) for tier 1 to take it.
        // The open question is dropped and the request goes on.
        let vector = self.recall.embed(text).await?;
        let threshold = self.config.route_threshold;
        let routed = self.recall.route(text, &vector).await?.is_some();
        let drop_question = || async {
            let mut tx = self.store.begin().await?;
            forms::close(&mut tx, &inbound.chat, &actor).await?;
            tx.commit().await.map_err(crate::store::StoreError::from)?;
            tracing::info!(workflow = %form.workflow, "a new request instead of an answer; the open question is dropped");
            Ok::<_, ReasoningError>(None)
        };
        if routed || self.phrases.nearest(&self.recall, &self.workflows, text, &vector, threshold).await?.is_some() {
            return drop_question().await;
        }
        let workflow = self.workflows.get(&form.workflow);
        let param = workflow.as_ref().and_then(|w| w.params.iter().find(|p| p.name == form.asking));
        let (Some(workflow), Some(param)) = (workflow.as_ref(), param) else {
            let gone = format!("Workflow {} changed since I asked, so nothing was started; ask again.", form.workflow);
            return self.commit_reply(inbound, reply(gone), close()).await.map(Some);
        };
        // A sentence of another shape than the patterns read for the
        // argument ("put on record that Hugo returned the laptop" for a
        // client's name) is a request of its own, too. A reply of a few
        // words is taken as the answer it almost always is ("tyrell").
        let phrasing = workflow.command_trigger().map(|(_, p)| p);
        let sentence = text.split_whitespace().count() > SHORT_ANSWER_WORDS;
        if sentence && phrasing.and_then(|p| p.reads_back(&param.name, text, &workflow.params)) == Some(false) {
            return drop_question().await;
        }
        let value = match param.ty {
            ParamType::Email | ParamType::Url => only_one(&param.ty, text).unwrap_or_else(|| text.to_owned()),
            _ => text.to_owned(),
        };
        let value = match param.ty.check(&Value::String(value)) {
            Ok(v) => v,
            Err(e) => {
                let again = reply(format!("That will not do: {e}. {}", question(workflow, param)));
                return self.commit_reply(inbound, again, Effect::None).await.map(Some);
            }
        };
        form.args.insert(param.name.clone(), value);
        let ran = self.start_or_ask(inbound, workflow, &form.trigger, form.args, true).await?;
        let mut answer = reply(ran.text);
        if let Some(id) = ran.intent {
            self.runner.wake();
            (answer.kind, answer.intent_id) = (Kind::Intent, Some(id));
        }
        self.commit_reply(inbound, answer, ran.effect).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_the_request_does_not_state_are_not_taken() {
        let text = "onboard Acme Corp, contact bob@acme.io";
        assert!(stated(&Value::String("Acme Corp".into()), text));
        assert!(stated(&Value::String("BOB@acme.io".into()), text));
        assert!(!stated(&Value::String("alice@acme.io".into()), text), "an invented address");
        assert!(!stated(&serde_json::json!(["Acme Corp", "Globex"]), text));
        assert!(stated(&Value::from(3), text));
        assert!(is_cancel(" Cancel. ") && is_cancel("never mind") && !is_cancel("cancel the Acme order"));
    }
}
