//! Digest schedules (`[[schedules]]`) as the built-in workflows that run
//! them, written as a workflow file would be and parsed by the same parser,
//! so each is checked against the catalog like any other. Every value is
//! quoted as TOML; none is part of a template.

use super::definition::Workflow;
use crate::adapters::Catalog;
use crate::config::WhenEmpty;
use crate::schedules::{Destination, Schedule};
use crate::store::{Store, StoreError};

/// What a period's digest knows of its trigger: a cron period may be a
/// catch-up; a run started by hand never is.
const CATCH_UP: &str = "{{ trigger.catch_up is defined and trigger.catch_up }}";
/// The period a scheduled run is for; none for a run started by hand.
const PERIOD: &str = "{{ trigger.period if trigger.period is defined else '' }}";

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The workflow that runs a schedule: a cron trigger, a command trigger,
/// and its steps.
pub fn workflow(s: &Schedule, catalog: &Catalog) -> Result<Workflow, String> {
    let when_empty = match s.when_empty {
        WhenEmpty::Skip => "skip",
        WhenEmpty::OneLine => "one_line",
    };
    let common = format!(
        "name = {}, timezone = {}, catch_up = {}, period = {}",
        quoted(&s.name),
        quoted(s.timing.tz.name()),
        quoted(CATCH_UP),
        quoted(PERIOD)
    );
    let steps = match &s.destination {
        Destination::Email(to) => {
            let only_if = match s.when_empty {
                WhenEmpty::Skip => "if = \"not steps.digest.result.empty\"\n",
                WhenEmpty::OneLine => "",
            };
            format!(
                "[[steps]]\nid = \"digest\"\naction = \"digest.compose\"\nargs = {{ {common} }}\n\n\
                 [[steps]]\nid = \"mail\"\naction = \"email.send\"\n{only_if}\
                 args = {{ to = {}, subject = \"{{{{ steps.digest.result.subject }}}}\", \
                 text = \"{{{{ steps.digest.result.text }}}}\", html = \"{{{{ steps.digest.result.html }}}}\" }}\n",
                quoted(to)
            )
        }
        Destination::Outbox(to) => format!(
            "[[steps]]\nid = \"digest\"\naction = \"digest.send\"\nargs = {{ {common}, to = {}, when_empty = \"{when_empty}\" }}\n",
            quoted(to)
        ),
        Destination::Webhook(url) => format!(
            "[[steps]]\nid = \"digest\"\naction = \"digest.send\"\nargs = {{ {common}, url = {}, when_empty = \"{when_empty}\" }}\n",
            quoted(url)
        ),
    };
    let text = format!(
        "name = {}\ndescription = {}\n\n[[triggers]]\nkind = \"cron\"\ncron = {}\ntimezone = {}\n\n\
         [[triggers]]\nkind = \"command\"\n\n{steps}",
        quoted(&s.workflow_name()),
        quoted(&format!("The {} digest to {} ([[schedules]] in steward.toml)", s.name, s.destination_text())),
        quoted(&s.timing.cron_text),
        quoted(s.timing.tz.name()),
    );
    Workflow::parse(&text, &|a: &str, b: &str| catalog.offers(a, b)).map_err(|e| format!("schedule `{}`: {e}", s.name))
}

/// The schedules as workflows.
pub fn all(schedules: &[Schedule], catalog: &Catalog) -> Result<Vec<Workflow>, String> {
    schedules.iter().map(|s| workflow(s, catalog)).collect()
}

/// Carries each schedule's history over to its workflow, once: the periods
/// a schedule fired before digests ran as workflows are not due again, and
/// one missed since then runs as a catch-up. A schedule never seen before
/// starts from now, as any new workflow does.
pub async fn adopt(store: &Store, schedules: &[Schedule]) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    for s in schedules {
        sqlx::query(
            "INSERT INTO workflow_state (workflow, due_since)
             SELECT ?1, MAX(first_seen, coalesce(
                 (SELECT MAX(period_at) FROM schedule_runs WHERE schedule = ?2 AND outcome IN ('sent', 'skipped')), 0))
             FROM schedules WHERE name = ?2
             ON CONFLICT (workflow) DO NOTHING",
        )
        .bind(s.workflow_name())
        .bind(&s.name)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
