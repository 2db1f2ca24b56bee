//! Commands: what tier 0 parsed, or tier 1 routed to. Read-only commands
//! answer at once; those that change something (a decision, a remembered
//! fact) do it in the transaction that records the reply, so a redelivered
//! event can never do it twice.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::roles::ModelTier;
use super::{Answer, Inbound, Reasoner, ReasoningError};
use crate::digest::render;
use crate::domain::{
    ApprovalState, Decision, IntentId, MemoryKind, MemoryProvenance, MenuAction, Millis, NewMemory, Scope,
};
use crate::domain::{Command, HELP};
use crate::orchestrator::control::{self, ControlError};
use crate::orchestrator::decisions;
use crate::store::approvals::{self, Filter};
use crate::store::forms::{self, Form};
use crate::store::memory::{self, OPERATOR_SCOPE};
use crate::store::menus::{self, Unclaimed};
use crate::store::{intents, ledger};

/// What a reply does when it is recorded.
pub enum Effect {
    None,
    Remember(Box<NewMemory>),
    Decide {
        target: String,
        decision: Decision,
        comment: Option<String>,
    },
    /// A question's answer, as its choice's name or number.
    Answer {
        target: String,
        answer: String,
    },
    /// Up to the approval with this token, when a card's button asked.
    ApproveAllLow(Option<String>),
    /// The chat's open question for a workflow's argument.
    Form(FormChange),
    /// Buttons under the reply, each kept with what it does.
    Offer(Vec<(String, MenuAction)>),
}

/// What a reply does to the asker's open question in the chat.
pub enum FormChange {
    /// Ask (or go on asking) for this.
    Save(Box<Form>),
    /// Answered, cancelled or gone.
    Close,
}

pub fn when(at: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(at).unwrap_or_default().format("%Y-%m-%d %H:%M UTC").to_string()
}

impl Reasoner {
    pub(super) async fn command(&self, inbound: &Inbound, cmd: Command, tier: u8) -> Result<Answer, ReasoningError> {
        let reply = |text: String| Answer::reply(tier, text, 1.0);
        // What is running, waiting and spent is the operator's business: a
        // collaborator (a guild member who may only ask) does not see it.
        let operators_only = matches!(
            cmd,
            Command::Status
                | Command::Pending
                | Command::Digest
                | Command::Workflows
                | Command::Run { .. }
                | Command::Remind(_)
                | Command::Reminders
                | Command::CancelReminder(_)
                | Command::Menu(_)
                | Command::DecideLatest { .. }
                | Command::ControlLatest { .. }
                | Command::Costs(_)
                | Command::Automations { .. }
                | Command::ForgetAbout(_)
        );
        if operators_only && !self.people.acts(&inbound.actor) {
            let o = reply("That is for the operator; you can ask me questions about the workspace.".into());
            return self.commit_reply(inbound, o, Effect::None).await;
        }
        let (outcome, effect) = match cmd {
            Command::Help | Command::Ask(_) => (reply(HELP.to_owned()), Effect::None),
            Command::Usage(usage) => (reply(format!("Usage: {usage}")), Effect::None),
            Command::Status => (reply(self.status().await?), Effect::None),
            Command::Pending => (reply(self.pending().await?), Effect::None),
            Command::Digest => {
                let now = self.store.now();
                let d = crate::digest::build(&self.store, "now", now - 86_400_000, now, false).await?;
                let tz = chrono_tz::Tz::UTC;
                let text = if d.is_empty() { render::one_line(&d, tz) } else { render::text(&d, tz) };
                (reply(text), Effect::None)
            }
            Command::Decide { target, decision, comment } => {
                (reply(String::new()), Effect::Decide { target, decision, comment })
            }
            Command::Answer { target, answer } => (reply(String::new()), Effect::Answer { target, answer }),
            Command::ApproveAllLow(until) => (reply(String::new()), Effect::ApproveAllLow(until)),
            Command::Cancel(id) => (reply(self.control(inbound, &id, true).await?), Effect::None),
            Command::Retry(id) => (reply(self.control(inbound, &id, false).await?), Effect::None),
            Command::Workflows => {
                let (text, buttons) = self.list_workflows();
                (reply(text), Effect::Offer(buttons))
            }
            Command::Remind(text) => (reply(self.remind(inbound, &text).await?), Effect::None),
            Command::Reminders => {
                let (text, buttons) = self.reminders(inbound).await?;
                (reply(text), Effect::Offer(buttons))
            }
            Command::Menu(token) => match self.pressed(inbound, &token).await? {
                Ok(MenuAction::Run { workflow }) => self.run_reply(inbound, &workflow, vec![], tier).await?,
                Ok(MenuAction::CancelReminder { id }) => {
                    (reply(self.cancel_reminder(inbound, &id).await?), Effect::None)
                }
                Ok(MenuAction::Decide { target, decision }) => {
                    (reply(String::new()), Effect::Decide { target, decision, comment: None })
                }
                Ok(MenuAction::Control { intent, cancel }) => {
                    (reply(self.control(inbound, &intent, cancel).await?), Effect::None)
                }
                Ok(MenuAction::Forget { subject, records }) => {
                    (reply(self.forget_records(inbound, &subject, &records).await?), Effect::None)
                }
                Err(why) => (reply(why.text().to_owned()), Effect::None),
            },
            Command::CancelReminder(id) => (reply(self.cancel_reminder(inbound, &id).await?), Effect::None),
            Command::DecideLatest { decision, latest } => {
                let (text, buttons) = self.decide_latest(inbound, decision, &latest).await?;
                (reply(text), Effect::Offer(buttons))
            }
            Command::ControlLatest { cancel } => {
                let (text, buttons) = self.control_latest(inbound, cancel).await?;
                (reply(text), Effect::Offer(buttons))
            }
            Command::Costs(period) => (reply(self.costs(period).await?), Effect::None),
            Command::ForgetAbout(subject) => {
                let (text, buttons) = self.forget_about(inbound, &subject).await?;
                (reply(text), Effect::Offer(buttons))
            }
            Command::Automations { paused } => (reply(self.automations(inbound, paused).await?), Effect::None),
            Command::Run { workflow, args } => self.run_reply(inbound, &workflow, args, tier).await?,
            Command::Remember(fact) => match self.said(inbound, MemoryKind::Note, &fact, "asked to remember") {
                Ok(m) => (reply(format!("Noted (in {}).", m.scope.as_str())), Effect::Remember(Box::new(m))),
                Err(e) => (reply(format!("I cannot keep that: {e}")), Effect::None),
            },
        };
        self.commit_reply(inbound, outcome, effect).await
    }

    /// A decision's words become the reply; a decided intent moves on.
    fn decided(&self, outcome: &mut Answer, d: decisions::Decided) {
        if d.intent_id.is_some() {
            self.runner.wake();
        }
        outcome.text = d.text;
        outcome.intent_id = d.intent_id;
    }

    /// What someone said, as a record of `kind` in their scope: the
    /// operator's, or a collaborator's own.
    pub(super) fn said(
        &self,
        inbound: &Inbound,
        kind: MemoryKind,
        text: &str,
        why: &str,
    ) -> Result<NewMemory, crate::domain::InvalidInput> {
        let scope = if self.people.acts(&inbound.actor) {
            Scope::parse(OPERATOR_SCOPE).expect("a valid scope")
        } else {
            Scope::user(&inbound.actor.channel, &inbound.actor.id)
        };
        let provenance = MemoryProvenance {
            actor: inbound.actor.to_string(),
            channel: inbound.channel.clone(),
            why: Some(why.into()),
            ..Default::default()
        };
        NewMemory::new(kind, text, scope, provenance, self.store.now())
    }

    /// A question kept as it was asked: found again by "what did I ask
    /// about …", never cited as an answer.
    pub(super) fn asked(&self, inbound: &Inbound, question: &str) -> Effect {
        self.said(inbound, MemoryKind::Question, question, "asked")
            .map_or(Effect::None, |m| Effect::Remember(Box::new(m)))
    }

    /// Does what the reply promised, inside the reply's transaction.
    pub(super) async fn perform(
        &self,
        conn: &mut SqliteConnection,
        inbound: &Inbound,
        mut outcome: Answer,
        effect: Effect,
        now: Millis,
    ) -> Result<Answer, ReasoningError> {
        match effect {
            Effect::None => {}
            Effect::Remember(m) => {
                memory::record(conn, &m).await?;
            }
            Effect::Decide { target, decision, comment } => {
                let (who, approvers, comment) = (&inbound.actor, self.people.approvers(), comment.as_deref());
                let d = decisions::by_reference(conn, &target, decision, comment, who, &approvers, now).await?;
                self.decided(&mut outcome, d);
            }
            Effect::Answer { target, answer } => {
                let (who, approvers) = (&inbound.actor, self.people.approvers());
                let d = decisions::answer_by_reference(conn, &target, &answer, who, &approvers, now).await?;
                self.decided(&mut outcome, d);
            }
            Effect::ApproveAllLow(until) => {
                let who = &inbound.actor;
                outcome.text =
                    decisions::low_batch(&self.store, conn, until.as_deref(), who, &self.people.approvers(), now)
                        .await?;
                self.runner.wake();
            }
            Effect::Form(FormChange::Save(form)) => forms::save(conn, &form).await?,
            Effect::Form(FormChange::Close) => forms::close(conn, &inbound.chat, &inbound.actor.to_string()).await?,
            Effect::Offer(buttons) if buttons.is_empty() => {}
            Effect::Offer(buttons) => {
                outcome.buttons = menus::offer(conn, &inbound.actor.to_string(), &buttons, now).await?;
            }
        }
        Ok(outcome)
    }

    /// A press of a menu button: what it was offered for, claimed for this
    /// press (a redelivery of the same press claims it again) in a
    /// transaction of its own, so two presses never both do it.
    async fn pressed(&self, inbound: &Inbound, token: &str) -> Result<Result<MenuAction, Unclaimed>, ReasoningError> {
        let mut tx = self.store.begin().await?;
        let actor = inbound.actor.to_string();
        let claimed = menus::claim(&mut tx, token, &actor, &inbound.external_id, self.store.now()).await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(claimed)
    }

    async fn control(&self, inbound: &Inbound, id: &str, cancel: bool) -> Result<String, ReasoningError> {
        if !self.people.acts(&inbound.actor) {
            return Ok("Only the operator can cancel or retry intents.".into());
        }
        let actor = &inbound.actor.to_string();
        let id: IntentId = match id.parse() {
            Ok(id) => id,
            Err(_) => return Ok(format!("`{id}` is not an intent id.")),
        };
        let done = if cancel {
            control::cancel(&self.store, id, actor).await
        } else {
            control::retry(&self.store, id, actor).await
        };
        self.runner.wake();
        match done {
            Ok(state) => Ok(format!("Intent {id} is now {state}.")),
            Err(ControlError::Store(e)) => Err(e.into()),
            Err(e) => Ok(format!("{e}.")),
        }
    }

    async fn status(&self) -> Result<String, ReasoningError> {
        let now = self.store.now();
        let counts = intents::count_by_state(&self.store).await?;
        let mut lines = vec!["Status".to_owned()];
        let active: Vec<String> =
            counts.iter().filter(|(_, n)| *n > 0).map(|(state, n)| format!("{n} {state}")).collect();
        lines.push(if active.is_empty() {
            "No intents yet.".into()
        } else {
            format!("Intents: {}", active.join(", "))
        });
        let pending = approvals::list(self.store.reader(), &pending_filter()).await?.len();
        lines.push(format!("Approvals waiting: {pending}"));
        let policy = self.policy.get();
        let cooldown = (policy.breaker.cooldown_secs * 1000) as i64;
        if let Some(why) = crate::store::breaker::open_now(self.store.reader(), cooldown, now).await? {
            lines.push(format!("Assisted mode: circuit breaker open ({why})"));
        }
        let spent = ledger::spent_on_day(self.store.reader(), now).await?;
        lines.push(format!(
            "Models: fast {}, deep {}; spent today ${spent:.4} of ${:.2}",
            self.models.name(ModelTier::Fast).unwrap_or("not configured"),
            self.models.name(ModelTier::Deep).unwrap_or("not configured"),
            policy.budgets.model_spend_per_day
        ));
        Ok(lines.join("\n"))
    }

    async fn pending(&self) -> Result<String, ReasoningError> {
        let waiting = approvals::list(self.store.reader(), &pending_filter()).await?;
        if waiting.is_empty() {
            return Ok("Nothing is waiting for you.".into());
        }
        let mut lines = vec![format!("{} waiting, oldest first:", waiting.len())];
        for a in waiting.iter().take(20) {
            let summary = &a.request.summary;
            lines.push(format!("• {} [{} risk] {summary} (expires {})", a.id, a.risk.as_str(), when(a.expires_at)));
        }
        if waiting.len() > 20 {
            lines.push(format!("… and {} more", waiting.len() - 20));
        }
        lines.push("Answer with: approve ID, or reject ID".into());
        Ok(lines.join("\n"))
    }
}

fn pending_filter() -> Filter {
    Filter { state: Some(ApprovalState::Pending), ..Default::default() }
}
