//! The `digest` adapter: what happened since a digest's last send, built
//! from the store (no model is called) and rendered for where it goes.
//!
//! - `send` queues it through the outbox to the operator, a chat, a log or
//!   a web address (`url`, judged by the policy like any address).
//! - `compose` returns it (`subject`, `text`, `html`, `empty`) for a later
//!   step, such as an `email.send` that the policy judges as email.
//!
//! Each digest has a `name`; its sends are kept in `schedule_runs`, keyed
//! by the step's idempotency key, and the next digest of that name covers
//! what happened since the last one. A retried step finds its row and
//! covers the same window again, and a queued message is deduplicated by
//! the same key, so a step sends one digest however often it runs.

use async_trait::async_trait;
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::{ActionSpec, Adapter, AdapterError, Description, Reconciled};
use crate::digest::{self, Digest, render};
use crate::domain::{DestinationArg, DigestMessage, IdempotencyKey, InvalidInput, Millis, Outbound, Reach};
use crate::store::{Store, StoreError, outbox};

/// What a digest with no earlier send covers.
const FIRST_WINDOW_MS: i64 = 86_400_000;
/// Longest digest name.
const MAX_NAME: usize = 64;

pub struct DigestAdapter {
    store: Store,
}

impl DigestAdapter {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// The arguments both actions share, checked.
struct Asked {
    name: String,
    tz: Tz,
    catch_up: bool,
    /// The period it is for, as the message says it (a scheduled run's
    /// period; by default the time it covers up to).
    period: Option<String>,
    /// `send` only: the outbox destination, and whether an empty digest is
    /// left unsent.
    to: Option<String>,
    skip_empty: bool,
}

fn invalid(field: &str, reason: impl Into<String>) -> InvalidInput {
    InvalidInput::new(field, reason)
}

fn read(action: &str, args: &Value) -> Result<Asked, InvalidInput> {
    let name = match args.get("name").and_then(Value::as_str) {
        Some(n)
            if !n.is_empty()
                && n.len() <= MAX_NAME
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            n.to_owned()
        }
        _ => return Err(invalid("args.name", format!("a digest's name is 1 to {MAX_NAME} letters, digits, - or _"))),
    };
    let zone = args.get("timezone").and_then(Value::as_str).unwrap_or("UTC");
    let tz: Tz = zone.parse().map_err(|_| invalid("args.timezone", format!("`{zone}` is not an IANA time zone")))?;
    // A template renders a condition as a boolean or as its text.
    let catch_up = match args.get("catch_up") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") || s.is_empty() => false,
        Some(other) => return Err(invalid("args.catch_up", format!("`{other}` is not true or false"))),
    };
    let skip_empty = match args.get("when_empty").and_then(Value::as_str) {
        None | Some("one_line") => false,
        Some("skip") => true,
        Some(other) => return Err(invalid("args.when_empty", format!("`{other}`: use skip or one_line"))),
    };
    let to = match action {
        "compose" => None,
        _ => Some(destination(args)?),
    };
    let period = match args.get("period") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) if p.chars().count() <= MAX_NAME => Some(p.trim().to_owned()),
        Some(other) => {
            return Err(invalid("args.period", format!("`{other}`: a period is a short text, such as a time")));
        }
    };
    Ok(Asked { name, tz, catch_up, period, to, skip_empty })
}

/// Where `send` queues the digest: `to` (the operator, a chat, a log), or
/// `url` (a web address, which the policy judges).
fn destination(args: &Value) -> Result<String, InvalidInput> {
    let to = args.get("to").and_then(Value::as_str);
    let url = args.get("url").and_then(Value::as_str);
    let digits = |id: &str| !id.is_empty() && id.trim_start_matches('-').chars().all(|c| c.is_ascii_digit());
    match (to, url) {
        (Some(_), Some(_)) => Err(invalid("args.to", "give `to` or `url`, not both")),
        (None, Some(u)) => match reqwest::Url::parse(u) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(format!("webhook:{u}")),
            _ => Err(invalid("args.url", format!("`{u}` is not an http(s) URL"))),
        },
        (None, None) => Ok("operator".into()),
        (Some(t), None) => match t.split_once(':') {
            None if t == "operator" => Ok(t.into()),
            Some(("telegram" | "discord", id)) if digits(id) => Ok(t.into()),
            Some(("log", name)) if !name.is_empty() && name.len() <= MAX_NAME => Ok(t.into()),
            _ => Err(invalid(
                "args.to",
                format!(
                    "`{t}`: send to `operator`, `telegram:CHAT_ID`, `discord:CHANNEL_ID` or `log:NAME` (or give `url`)"
                ),
            )),
        },
    }
}

fn spec(name: &'static str, args_schema: Value, destinations: Vec<DestinationArg>) -> ActionSpec {
    ActionSpec { name, args_schema, can_compensate: false, can_reconcile: true, destinations }
}

/// The `digest` adapter's actions, `send` and `compose`.
pub fn description() -> Description {
    let common = || {
        json!({
            "name": {"type": "string"},
            "timezone": {"type": "string", "default": "UTC"},
            "catch_up": {"type": ["boolean", "string"], "default": false},
            "period": {"type": "string"},
            "when_empty": {"type": "string", "enum": ["skip", "one_line"], "default": "one_line"}
        })
    };
    let mut send = common();
    send["to"] = json!({"type": "string", "default": "operator"});
    send["url"] = json!({"type": "string"});
    Description {
        name: "digest",
        actions: vec![
            spec(
                "send",
                json!({"type": "object", "required": ["name"], "properties": send, "additionalProperties": false}),
                vec![DestinationArg::url("url")],
            ),
            spec(
                "compose",
                json!({"type": "object", "required": ["name"], "properties": common(), "additionalProperties": false}),
                vec![],
            ),
        ],
    }
}

/// The window this step's digest covers: from the digest's last send
/// before this step (a day back for the first) until this step's own send
/// when it was recorded before (a retry), or now.
async fn window(
    pool: &sqlx::SqlitePool,
    name: &str,
    key: &str,
    now: Millis,
) -> Result<(Millis, Millis, bool), StoreError> {
    let recorded: Option<Millis> =
        sqlx::query_scalar("SELECT fired_at FROM schedule_runs WHERE schedule = ? AND period = ?")
            .bind(name)
            .bind(key)
            .fetch_optional(pool)
            .await?;
    let until = recorded.unwrap_or(now);
    let since: Option<Millis> = sqlx::query_scalar(
        "SELECT MAX(fired_at) FROM schedule_runs WHERE schedule = ? AND period <> ? AND fired_at <= ?",
    )
    .bind(name)
    .bind(key)
    .bind(until)
    .fetch_one(pool)
    .await?;
    Ok((since.unwrap_or(until - FIRST_WINDOW_MS), until, recorded.is_some()))
}

/// Records this step's digest, once per key.
async fn record(
    conn: &mut sqlx::SqliteConnection,
    a: &Asked,
    key: &str,
    outcome: &str,
    until: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO schedule_runs (schedule, period, period_at, fired_at, catch_up, outcome, destination)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (schedule, period) DO NOTHING",
    )
    .bind(&a.name)
    .bind(key)
    .bind(until)
    .bind(until)
    .bind(a.catch_up)
    .bind(outcome)
    .bind(a.to.as_deref().unwrap_or("composed"))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a digest says, for a message or a later step.
fn rendered(d: &Digest, tz: Tz) -> (String, String) {
    let text = if d.is_empty() { render::one_line(d, tz) } else { render::text(d, tz) };
    let subject = format!("{}{}", if d.catch_up { "[catch-up] " } else { "" }, render::heading(d, tz));
    (subject, text)
}

impl DigestAdapter {
    /// Builds this step's digest and, in one transaction, records it and
    /// (for `send`) queues it. `only_if_recorded`: reconcile, which changes
    /// nothing when the step never ran.
    async fn act(&self, key: &IdempotencyKey, a: &Asked, only_if_recorded: bool) -> Result<Option<Value>, StoreError> {
        let (since, until, recorded) = window(self.store.reader(), &a.name, key.as_str(), self.store.now()).await?;
        if only_if_recorded && !recorded {
            return Ok(None);
        }
        let d = digest::build(&self.store, &a.name, since, until, a.catch_up).await?;
        let mut tx = self.store.begin().await?;
        let (subject, text) = rendered(&d, a.tz);
        let empty = d.is_empty();
        let result = match &a.to {
            None => {
                record(&mut tx, a, key.as_str(), "composed", until).await?;
                json!({"empty": empty, "subject": subject, "text": text, "html": render::html(&d, a.tz), "since": since, "until": until})
            }
            Some(_) if empty && a.skip_empty => {
                record(&mut tx, a, key.as_str(), "skipped", until).await?;
                json!({"empty": true, "skipped": "nothing happened since the last digest"})
            }
            Some(to) => {
                record(&mut tx, a, key.as_str(), "sent", until).await?;
                let message = Outbound::Digest(DigestMessage {
                    schedule: a.name.clone(),
                    period: a.period.clone().unwrap_or_else(|| {
                        crate::schedules::utc(until).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    }),
                    catch_up: a.catch_up,
                    subject,
                    telegram_html: if empty { render::escape(&text) } else { render::telegram(&d, a.tz) },
                    text,
                    discord_embed: render::discord(&d, a.tz),
                });
                outbox::enqueue(&mut tx, to, &message, Some(key.as_str()), until).await?;
                json!({"empty": empty, "queued_to": to, "since": since, "until": until})
            }
        };
        tx.commit().await?;
        Ok(Some(result))
    }
}

#[async_trait]
impl Adapter for DigestAdapter {
    fn describe(&self) -> Description {
        description()
    }

    fn validate(&self, action: &str, args: &Value) -> Result<(), InvalidInput> {
        read(action, args).map(drop)
    }

    async fn execute(
        &self,
        key: &IdempotencyKey,
        action: &str,
        args: &Value,
        _reach: &Reach,
    ) -> Result<Value, AdapterError> {
        let asked = read(action, args).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        match self.act(key, &asked, false).await {
            Ok(Some(result)) => Ok(result),
            Ok(None) => Err(AdapterError::Transient("the digest was not built".into())),
            Err(e) => Err(AdapterError::transient(e)),
        }
    }

    async fn reconcile(&self, key: &IdempotencyKey, action: &str, args: &Value, _reach: &Reach) -> Reconciled {
        let Ok(asked) = read(action, args) else { return Reconciled::NotHappened };
        match self.act(key, &asked, true).await {
            Ok(Some(result)) => Reconciled::Happened(result),
            Ok(None) => Reconciled::NotHappened,
            Err(e) => Reconciled::CannotTell(format!("{e} (for the {} digest)", asked.name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{IntentId, ManualClock};

    #[tokio::test]
    async fn a_step_sends_one_digest_and_the_next_covers_what_came_after() {
        let clock = ManualClock::at(1_700_000_000_000);
        let store = Store::in_memory().await.unwrap().with_clock(clock.clone() as crate::domain::SharedClock);
        let digests = DigestAdapter::new(store.clone());
        let args = json!({"name": "morning", "to": "log:digest"});
        let first = IdempotencyKey::for_step(IntentId::new(), 0);
        assert_eq!(digests.reconcile(&first, "send", &args, &Reach::default()).await, Reconciled::NotHappened);
        let sent = digests.execute(&first, "send", &args, &Reach::default()).await.unwrap();
        clock.advance(std::time::Duration::from_secs(60));
        // A retry of the same step covers the same window and queues nothing new.
        assert_eq!(digests.execute(&first, "send", &args, &Reach::default()).await.unwrap(), sent);
        assert_eq!(
            digests.reconcile(&first, "send", &args, &Reach::default()).await,
            Reconciled::Happened(sent.clone())
        );
        let second = IdempotencyKey::for_step(IntentId::new(), 0);
        let next = digests.execute(&second, "send", &args, &Reach::default()).await.unwrap();
        assert_eq!(next["since"], sent["until"], "the next digest starts where the last ended");
        let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE destination = 'log:digest'")
            .fetch_one(store.reader())
            .await
            .unwrap();
        assert_eq!(queued, 2);
        // Nothing happened: skipped when asked, recorded all the same.
        let skip = json!({"name": "morning", "to": "log:digest", "when_empty": "skip"});
        let third = IdempotencyKey::for_step(IntentId::new(), 0);
        assert!(digests.execute(&third, "send", &skip, &Reach::default()).await.unwrap()["skipped"].is_string());
        let composed = digests
            .execute(
                &IdempotencyKey::for_step(IntentId::new(), 0),
                "compose",
                &json!({"name": "other"}),
                &Reach::default(),
            )
            .await
            .unwrap();
        assert!(composed["text"].as_str().unwrap().contains("nothing happened"), "{composed}");
        assert_eq!(composed["empty"], true);
    }

    #[test]
    fn bad_arguments_are_refused_with_the_field() {
        for (action, bad, field) in [
            ("send", json!({}), "args.name"),
            ("send", json!({"name": "a b"}), "args.name"),
            ("send", json!({"name": "m", "timezone": "Mars/Base"}), "args.timezone"),
            ("send", json!({"name": "m", "to": "telegram:abc"}), "args.to"),
            ("send", json!({"name": "m", "to": "webhook:http://x"}), "args.to"),
            ("send", json!({"name": "m", "url": "ftp://x"}), "args.url"),
            ("send", json!({"name": "m", "to": "operator", "url": "https://x"}), "args.to"),
            ("compose", json!({"name": "m", "catch_up": 3}), "args.catch_up"),
            ("compose", json!({"name": "m", "when_empty": "never"}), "args.when_empty"),
        ] {
            let e = read(action, &bad).err().unwrap_or_else(|| panic!("{bad} was accepted"));
            assert_eq!(e.field, field, "{bad}");
        }
        assert_eq!(
            read("send", &json!({"name": "m", "url": "https://hooks.example/d"})).unwrap().to.unwrap(),
            "webhook:https://hooks.example/d"
        );
    }
}
