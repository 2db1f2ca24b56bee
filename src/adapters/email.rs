//! The email adapter: sends through an SMTP server with lettre (STARTTLS,
//! TLS, or plain for a loopback relay). Each message's `Message-ID` is
//! derived from the step's idempotency key, so a resend (which steward never
//! does blindly) would be recognisable as the same message. Accepted sends
//! are recorded; SMTP cannot be asked what it delivered, so an interrupted
//! send with no record is `unknown` and the operator decides.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::{ActionSpec, Adapter, AdapterError, Description, Reconciled};
use crate::config::{EmailConfig, SmtpSecurity};
use crate::domain::{DestinationArg, IdempotencyKey, InvalidInput, Reach};
use crate::store::Store;

pub struct EmailAdapter {
    store: Store,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    username: Option<String>,
    timeout: Duration,
}

/// The SMTP transport and sender `email.*` describe; `None` when email is
/// off. `doctor` uses it to test the connection.
pub fn transport(config: &EmailConfig) -> Result<Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>, String> {
    let Some(host) = &config.host else { return Ok(None) };
    let from = config.from.as_deref().ok_or("email.from is required when email.host is set")?;
    let from: Mailbox = from.parse().map_err(|e| format!("email.from `{from}` is not an address: {e}"))?;
    let builder = match config.security {
        SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())),
    }
    .map_err(|e| format!("email.host `{host}`: {e}"))?;
    let mut builder = builder.port(config.port).timeout(Some(Duration::from_secs(config.timeout_secs.max(1))));
    if let (Some(user), Some(pass)) = (&config.username, &config.password) {
        builder = builder.credentials(Credentials::new(user.clone(), pass.expose_secret().to_owned()));
    }
    Ok(Some((builder.build(), from)))
}

/// What a `send` asks for, checked.
struct Mail {
    to: Vec<Mailbox>,
    subject: String,
    text: String,
    html: Option<String>,
}

fn invalid(field: &str, reason: impl Into<String>) -> InvalidInput {
    InvalidInput::new(field, reason)
}

fn mail(args: &Value) -> Result<Mail, InvalidInput> {
    let to: Vec<&str> = match &args["to"] {
        Value::String(s) => s.split(',').map(str::trim).collect(),
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => return Err(invalid("to", "required: an address or a list of addresses")),
    };
    if to.is_empty() || to.len() > 50 {
        return Err(invalid("to", "give between 1 and 50 addresses"));
    }
    let to = to
        .iter()
        .map(|a| a.parse::<Mailbox>().map_err(|e| invalid("to", format!("`{a}` is not an email address: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let text_of = |field: &str| -> Result<String, InvalidInput> {
        match args[field].as_str().map(str::trim) {
            Some(s) if !s.is_empty() => Ok(s.to_owned()),
            _ => Err(invalid(field, "required: a non-empty string")),
        }
    };
    let subject = text_of("subject")?;
    if subject.len() > 900 || subject.contains(['\r', '\n']) {
        return Err(invalid("subject", "must be one line of at most 900 bytes"));
    }
    let html = args["html"].as_str().map(str::to_owned);
    Ok(Mail { to, subject, text: text_of("text")?, html })
}

impl EmailAdapter {
    /// The adapter, when `email.host` and `email.from` are set.
    pub fn new(config: &EmailConfig, store: Store) -> Result<Option<Self>, String> {
        let Some((transport, from)) = transport(config)? else { return Ok(None) };
        Ok(Some(Self {
            store,
            transport,
            from,
            host: format!("{}:{}", config.host.as_deref().unwrap_or_default(), config.port),
            username: config.username.clone(),
            timeout: Duration::from_secs(config.timeout_secs.max(1)),
        }))
    }

    /// `<steward-INTENT-SEQ@sender-domain>`: stable for a step, whatever
    /// attempt sends it.
    pub fn message_id(&self, key: &IdempotencyKey, suffix: &str) -> String {
        let domain = self.from.email.domain().to_owned();
        format!("<{}{suffix}@{domain}>", key.as_str())
    }

    fn build(&self, mail: &Mail, id: &str, reply_to: Option<&str>) -> Result<Message, AdapterError> {
        let mut b =
            Message::builder().from(self.from.clone()).subject(mail.subject.clone()).message_id(Some(id.into()));
        for to in &mail.to {
            b = b.to(to.clone());
        }
        if let Some(original) = reply_to {
            b = b.in_reply_to(original.into()).references(original.into());
        }
        let built = match &mail.html {
            Some(html) => b.multipart(MultiPart::alternative_plain_html(mail.text.clone(), html.clone())),
            None => b.singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(mail.text.clone())),
        };
        built.map_err(|e| AdapterError::Permanent(format!("cannot build the message: {e}")))
    }

    /// Sends, and says what went wrong in words that never include the
    /// password.
    async fn send(&self, message: Message) -> Result<String, AdapterError> {
        let sent = match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(sent) => sent,
            Err(_) => {
                return Err(AdapterError::Ambiguous(format!(
                    "no answer from {} within {:?}; the server may have taken the message",
                    self.host, self.timeout
                )));
            }
        };
        match sent {
            Ok(response) => Ok(response.message().collect::<Vec<_>>().join(" ")),
            Err(e)
                if e.status().is_some_and(|c| c.to_string().starts_with("535") || c.to_string().starts_with("530")) =>
            {
                let user = self.username.as_deref().unwrap_or("(no username set)");
                Err(AdapterError::Permanent(format!(
                    "the SMTP server {} refused the login of `{user}` ({e}); check email.username and email.password",
                    self.host
                )))
            }
            Err(e) if e.is_permanent() => {
                Err(AdapterError::Permanent(format!("{} refused the message: {e}", self.host)))
            }
            Err(e) if e.is_transient() => {
                Err(AdapterError::Transient(format!("{} deferred the message: {e}", self.host)))
            }
            // Whether the server took the message before the answer was
            // lost cannot be known: never send it again blindly.
            Err(e) if e.is_timeout() || e.is_response() => {
                Err(AdapterError::Ambiguous(format!("no complete answer from {}: {e}", self.host)))
            }
            Err(e) => Err(AdapterError::Transient(format!("cannot reach {}: {e}", self.host))),
        }
    }

    async fn record(&self, key: &str, id: &str, mail: &Mail, response: &str) -> Result<(), AdapterError> {
        let to: Vec<String> = mail.to.iter().map(|m| m.email.to_string()).collect();
        let done = async {
            let mut tx = self.store.begin().await?;
            sqlx::query(
                "INSERT INTO emails_sent (key, message_id, recipients, subject, response, accepted_at)
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(id)
            .bind(to.join(", "))
            .bind(&mail.subject)
            .bind(response)
            .bind(self.store.now())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, crate::store::StoreError>(())
        };
        // Sent but not recorded: the step's outcome then tells the truth.
        done.await.map_err(|e| AdapterError::Ambiguous(format!("sent, but recording it failed: {e}")))
    }
}

/// The email adapter's one action, `send`.
pub fn description() -> Description {
    Description {
        name: "email",
        actions: vec![ActionSpec {
            name: "send",
            args_schema: json!({
                "type": "object",
                "required": ["to", "subject", "text"],
                "properties": {
                    "to": {"type": ["string", "array"], "items": {"type": "string"}},
                    "subject": {"type": "string"},
                    "text": {"type": "string"},
                    "html": {"type": "string"},
                    "correction": {"type": "object", "properties": {"subject": {"type": "string"}, "text": {"type": "string"}}, "required": ["text"]}
                },
                "additionalProperties": false
            }),
            can_compensate: true,
            can_reconcile: false,
            destinations: vec![DestinationArg::email("to")],
        }],
    }
}

#[async_trait]
impl Adapter for EmailAdapter {
    fn describe(&self) -> Description {
        description()
    }

    fn validate(&self, action: &str, args: &Value) -> Result<(), InvalidInput> {
        if action != "send" {
            return Err(invalid("action", format!("`email` has no action `{action}`; available: send")));
        }
        let allowed = ["to", "subject", "text", "html", "correction"];
        if let Some(extra) = args.as_object().and_then(|o| o.keys().find(|k| !allowed.contains(&k.as_str()))) {
            return Err(invalid(extra, format!("unknown argument; expected {}", allowed.join(", "))));
        }
        if !args["correction"].is_null() && args["correction"]["text"].as_str().is_none_or(|t| t.trim().is_empty()) {
            return Err(invalid("correction.text", "required when a correction is given"));
        }
        mail(args).map(|_| ())
    }

    async fn execute(
        &self,
        key: &IdempotencyKey,
        _action: &str,
        args: &Value,
        _reach: &Reach,
    ) -> Result<Value, AdapterError> {
        let mail = mail(args).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        let id = self.message_id(key, "");
        let response = self.send(self.build(&mail, &id, None)?).await?;
        self.record(key.as_str(), &id, &mail, &response).await?;
        let to: Vec<String> = mail.to.iter().map(|m| m.email.to_string()).collect();
        Ok(json!({"message_id": id, "to": to, "accepted": response}))
    }

    async fn compensate(
        &self,
        key: &IdempotencyKey,
        _action: &str,
        args: &Value,
        _result: Option<&Value>,
        _reach: &Reach,
    ) -> Result<Value, AdapterError> {
        let Some(correction) = args.get("correction").filter(|c| c.is_object()) else {
            return Ok(json!({"compensation": "none"}));
        };
        let original = mail(args).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        let subject =
            correction["subject"].as_str().map_or_else(|| format!("Correction: {}", original.subject), str::to_owned);
        let text = correction["text"].as_str().unwrap_or_default().to_owned();
        let fix = Mail { to: original.to, subject, text, html: None };
        let id = self.message_id(key, "-correction");
        let response = self.send(self.build(&fix, &id, Some(&self.message_id(key, "")))?).await?;
        self.record(&format!("{}-correction", key.as_str()), &id, &fix, &response).await?;
        Ok(json!({"compensation": "correction sent", "message_id": id}))
    }

    async fn reconcile(&self, key: &IdempotencyKey, _action: &str, _args: &Value, _reach: &Reach) -> Reconciled {
        let row: Result<Option<(String, String)>, _> =
            sqlx::query_as("SELECT message_id, response FROM emails_sent WHERE key = ?")
                .bind(key.as_str())
                .fetch_optional(self.store.reader())
                .await;
        match row {
            Ok(Some((message_id, accepted))) => {
                Reconciled::Happened(json!({"message_id": message_id, "accepted": accepted}))
            }
            Ok(None) => Reconciled::CannotTell(format!(
                "an SMTP server cannot be asked whether it took a message; look for Message-ID {} in the recipients' mail",
                self.message_id(key, "")
            )),
            Err(e) => Reconciled::CannotTell(format!("cannot read the record of sent mail: {e}")),
        }
    }
}
