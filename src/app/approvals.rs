//! `steward approvals list|approve|reject|answer|approve-all`. The CLI decides as
//! `cli:<user>`; the allowlist must name it (`cli:*` by default).

use std::process::ExitCode;

use chrono::{TimeZone, Utc};

use super::intents::open_existing;
use super::print_json;
use crate::api::approvals::{ApprovalPage, ApprovalView};
use crate::config::Config;
use crate::domain::{Actor, ApprovalState, Decision, Risk};
use crate::orchestrator::decisions::{self, Ask, DecideError};
use crate::store::Store;
use crate::store::approvals::{Filter, list as list_approvals};

/// Who the CLI acts as: `cli:$USER`.
pub(super) fn me() -> Actor {
    let user = std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "operator".into());
    Actor::new("cli", &user)
}

fn when(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms).single().map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
}

/// Every amount a step's arguments name (a key with `amount` in it, at
/// any depth), as `key value`.
fn amounts(args: &serde_json::Value, depth: u8, out: &mut Vec<String>) {
    let Some(map) = args.as_object().filter(|_| depth < 4) else { return };
    for (k, v) in map {
        match v {
            serde_json::Value::Number(_) | serde_json::Value::String(_) if k.to_lowercase().contains("amount") => {
                out.push(format!("{k} {}", v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            }
            serde_json::Value::Object(_) => amounts(v, depth + 1, out),
            _ => {}
        }
    }
}

pub async fn list(config: &Config, state: ApprovalState, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let found = list_approvals(store.reader(), &Filter { state: Some(state), ..Default::default() }).await?;
    if json {
        let items = found.into_iter().map(ApprovalView::from).collect();
        print_json(&ApprovalPage { items, next_cursor: None })?;
        return Ok(ExitCode::SUCCESS);
    }
    if found.is_empty() {
        println!("no {state} approvals");
    } else {
        for a in &found {
            println!(
                "{}  {:<6} {:<9} intent {}  expires {}  rule: {}  {}",
                a.id,
                a.risk,
                a.state,
                a.intent_id,
                when(a.expires_at),
                a.rule,
                a.request.summary
            );
            let steps = &a.request.steps;
            let to: Vec<&str> = steps.iter().flat_map(|s| s.destinations.iter().map(|d| d.value.as_str())).collect();
            let mut money = Vec::new();
            steps.iter().for_each(|s| amounts(&s.args, 0, &mut money));
            if !to.is_empty() || !money.is_empty() {
                let to = if to.is_empty() { String::new() } else { format!("to {}", to.join(", ")) };
                let money = if money.is_empty() { String::new() } else { format!("  {}", money.join(", ")) };
                println!("    {to}{money}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The approval `id` names: an approval's id, or an intent's, whose
/// pending approval it then is.
async fn approval_named(store: &Store, id: &str) -> anyhow::Result<String> {
    let mut conn = store.reader().acquire().await?;
    if crate::store::approvals::get(&mut conn, id).await?.is_some() {
        return Ok(id.to_owned());
    }
    drop(conn);
    let Ok(intent) = id.parse() else { return Ok(id.to_owned()) };
    let filter = Filter { state: Some(ApprovalState::Pending), intent: Some(intent), ..Default::default() };
    match list_approvals(store.reader(), &filter).await?.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Ok(id.to_owned()),
        many => anyhow::bail!(
            "intent {id} has {} pending approvals; name one: {}",
            many.len(),
            many.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

pub async fn decide(config: &Config, id: &str, decision: Decision, comment: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    decide_in(config, &store, id, decision, comment).await
}

/// Answers a workflow's question with the choice `said` names.
pub async fn answer(config: &Config, id: &str, said: &str) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let mut conn = store.reader().acquire().await?;
    let decision = decisions::chosen(&mut conn, id, said).await?;
    drop(conn);
    decide_in(config, &store, id, decision, None).await
}

async fn decide_in(
    config: &Config,
    store: &Store,
    id: &str,
    decision: Decision,
    comment: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let approver = me();
    let id = approval_named(store, id).await?;
    let ask = Ask { approval: &id, decision, approver: &approver, comment };
    match decisions::decide(store, &ask, &config.approvals.approvers).await {
        Ok(a) => {
            let answered = a.answer.as_deref().map(|c| format!(" `{c}`")).unwrap_or_default();
            println!(
                "approval {} is now {}{answered} (by {approver}); a running server acts on it within 5 s",
                a.id, a.state
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(DecideError::Refused(r)) => anyhow::bail!("refused: {r}"),
        Err(DecideError::Store(e)) => Err(e.into()),
    }
}

/// Approves every pending approval of one risk (low unless `--risk` says
/// otherwise), one decision each. Above low risk it lists what it would
/// approve first, and asks at a terminal; elsewhere it needs `--yes`.
pub async fn approve_all(
    config: &Config,
    risk: Option<Risk>,
    comment: Option<&str>,
    yes: bool,
) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let risk = risk.unwrap_or(Risk::Low);
    let filter = Filter { state: Some(ApprovalState::Pending), risk: Some(risk), ..Default::default() };
    let pending = list_approvals(store.reader(), &filter).await?;
    if pending.is_empty() {
        println!("no pending {risk} risk approvals");
        return Ok(ExitCode::SUCCESS);
    }
    if risk != Risk::Low && !yes {
        for a in &pending {
            println!("{}  intent {}  rule: {}  {}", a.id, a.intent_id, a.rule, a.request.summary);
        }
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "approving {} {risk} risk requests at once needs --yes when not asked at a terminal",
                pending.len()
            );
        }
        print!("approve these {} {risk} risk requests? [y/N] ", pending.len());
        std::io::Write::flush(&mut std::io::stdout())?;
        let mut said = String::new();
        std::io::stdin().read_line(&mut said)?;
        if !matches!(said.trim().to_lowercase().as_str(), "y" | "yes") {
            println!("nothing approved");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let approver = me();
    let (mut decided, mut refused) = (0, 0);
    for a in &pending {
        let ask = Ask { approval: &a.id, decision: Decision::Approve, approver: &approver, comment };
        match decisions::decide(&store, &ask, &config.approvals.approvers).await {
            Ok(_) => decided += 1,
            Err(DecideError::Refused(r)) => {
                refused += 1;
                eprintln!("{}: refused: {r}", a.id);
            }
            Err(DecideError::Store(e)) => return Err(e.into()),
        }
    }
    println!("approved {decided} {risk} risk, refused {refused}");
    Ok(ExitCode::SUCCESS)
}
