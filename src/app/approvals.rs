//! `steward approvals list|approve|reject|answer|approve-all`. The CLI decides as
//! `cli:<user>`; the allowlist must name it (`cli:*` by default).

use std::process::ExitCode;

use chrono::{TimeZone, Utc};

use super::intents::open_existing;
use super::print_json;
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

pub async fn list(config: &Config, state: ApprovalState, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let found = list_approvals(store.reader(), &Filter { state: Some(state), ..Default::default() }).await?;
    if json {
        print_json(&found)?;
    } else if found.is_empty() {
        println!("no {state} approvals");
    } else {
        for a in &found {
            let summary = &a.request.summary;
            println!(
                "{}  {:<6} {:<9} expires {}  rule: {}  {}",
                a.id,
                a.risk,
                a.state,
                when(a.expires_at),
                a.rule,
                summary
            );
        }
    }
    Ok(ExitCode::SUCCESS)
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
    let ask = Ask { approval: id, decision, approver: &approver, comment };
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

/// Approves every pending approval (of one risk, if given), one decision each.
pub async fn approve_all(config: &Config, risk: Option<Risk>, comment: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let filter = Filter { state: Some(ApprovalState::Pending), risk, intent: None };
    let pending = list_approvals(store.reader(), &filter).await?;
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
    println!("approved {decided}, refused {refused}");
    Ok(ExitCode::SUCCESS)
}
