//! Reminders from chat as built-in workflows. A reminder is a row
//! (`store::reminders`); the scheduler turns each one not cancelled into a
//! workflow with one trigger (`at` for a one-time reminder, `cron` for a
//! repeating one) and one `notify.send` step to the chat it came from, and
//! runs it like any other: each period once, across restarts and
//! processes. The task is a parameter's value, never part of a template,
//! so whatever it says is said as written.

use chrono::{DateTime, Utc};

use super::definition::Workflow;
use super::library::Library;
use super::phrases::{Phrase, When};
use crate::adapters::Catalog;
use crate::schedules::Timing;
use crate::store::reminders::{self, Reminder};
use crate::store::{Store, StoreError, workflows};

/// The workflow name a reminder runs as.
pub fn name(r: &Reminder) -> String {
    format!("reminder-{}", r.id.to_ascii_lowercase())
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The reminder as a workflow.
pub fn workflow(r: &Reminder, catalog: &Catalog) -> Result<Workflow, String> {
    let trigger = match (&r.at, &r.cron) {
        (Some(at), _) => {
            let at = DateTime::<Utc>::from_timestamp_millis(*at).ok_or("a reminder at no time")?;
            format!("kind = \"at\"\nat = {}", quoted(&at.to_rfc3339()))
        }
        // Every time of a repeating reminder is said: one that comes while
        // the last is still being said waits for it (never skipped).
        (None, Some(cron)) => {
            format!("kind = \"cron\"\ncron = {}\ntimezone = {}\noverlap = \"queue\"", quoted(cron), quoted(&r.timezone))
        }
        (None, None) => return Err("a reminder with neither a time nor a repeat".into()),
    };
    let text = format!(
        "name = \"{}\"\ndescription = {}\n\n[params.task]\ntype = \"string\"\ndefault = {}\n\n\
         [params.chat]\ntype = \"string\"\ndefault = {}\n\n[[triggers]]\n{trigger}\n\n[[steps]]\nid = \"say\"\n\
         action = \"notify.send\"\nargs = {{ text = \"⏰ Reminder: {{{{ params.task }}}}\", to = \"{{{{ params.chat }}}}\" }}\n",
        name(r),
        quoted(&format!("Reminder for {}", r.actor)),
        quoted(&r.task),
        quoted(&r.chat),
    );
    Workflow::parse(&text, &|a: &str, b: &str| catalog.offers(a, b)).map_err(|e| e.to_string())
}

/// Keeps a reminder asked for by `actor` in chat event `key`, to be said
/// in `chat`; the same key again is the same reminder. Its periods are due
/// from when it was asked for, so a restart in between loses none.
pub async fn create(
    store: &Store,
    library: &Library,
    phrase: &Phrase,
    actor: &str,
    chat: &str,
    key: &str,
) -> Result<Result<Reminder, String>, StoreError> {
    let now = store.now();
    let (at, cron) = match &phrase.when {
        When::Once(t) => (Some(t.timestamp_millis()), None),
        When::Every(c) => (None, Some(c.clone())),
    };
    let r = Reminder {
        id: ulid::Ulid::new().to_string(),
        key: key.to_owned(),
        actor: actor.to_owned(),
        chat: chat.to_owned(),
        task: phrase.task.clone(),
        at,
        cron,
        timezone: library.zone().name().to_owned(),
        created_at: now,
    };
    if let Err(why) = workflow(&r, library.catalog()) {
        return Ok(Err(why));
    }
    let mut tx = store.begin().await?;
    let r = reminders::insert(&mut tx, &r).await?;
    workflows::due_since(&mut tx, &name(&r), r.created_at).await?;
    tx.commit().await?;
    library.nudge().notify_one();
    Ok(Ok(r))
}

/// When it is said next, in words: `Thu 3 Dec 09:00 (Europe/Berlin)`, and
/// for a repeating one how often.
pub fn describe(r: &Reminder, now: DateTime<Utc>) -> String {
    let tz: chrono_tz::Tz = r.timezone.parse().unwrap_or(chrono_tz::Tz::UTC);
    let local = |t: DateTime<Utc>| format!("{} ({})", t.with_timezone(&tz).format("%a %-d %b %Y %H:%M"), tz.name());
    match (&r.at, &r.cron) {
        (Some(at), _) => DateTime::<Utc>::from_timestamp_millis(*at).map(local).unwrap_or_default(),
        (None, Some(cron)) => {
            let next = Timing::parse(cron, &r.timezone).ok().and_then(|t| t.next_after(now));
            match next {
                Some(n) => format!("every `{cron}`, next {}", local(n.with_timezone(&Utc))),
                None => format!("every `{cron}`"),
            }
        }
        (None, None) => String::new(),
    }
}

/// The reminders not cancelled, as workflows, for the scheduler: repeating
/// ones, and one-time ones from the last week (older ones ran, or were
/// missed for good while steward was down that long).
pub async fn scheduled(store: &Store, catalog: &Catalog) -> Result<Vec<Workflow>, StoreError> {
    let since = store.now() - 7 * 86_400_000;
    let rows = reminders::active(store.reader(), since).await?;
    Ok(rows
        .iter()
        .filter_map(|r| match workflow(r, catalog) {
            Ok(w) => Some(w),
            Err(why) => {
                tracing::error!(reminder = %r.id, error = %why, "a reminder cannot run");
                None
            }
        })
        .collect())
}
