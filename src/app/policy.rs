//! `steward policy check FILE`: validates a policy file and says what each
//! rule matches, so a change can be reviewed before it is put in force.

use std::path::Path;
use std::process::ExitCode;

use anyhow::anyhow;

use crate::domain::Risk;
use crate::policy::{self, Condition};

fn describe(c: &Condition) -> String {
    let test = if let Some(v) = c.gt {
        format!("> {v}")
    } else if let Some(v) = c.lt {
        format!("< {v}")
    } else if let Some(v) = &c.equals {
        format!("= {v}")
    } else if let Some(v) = &c.domain_not_in {
        format!("has a domain outside [{}]", v.join(", "))
    } else if let Some(v) = &c.host_not_in {
        format!("has a host outside [{}]", v.join(", "))
    } else if let Some(v) = &c.host_in_class {
        let classes: Vec<_> = v.iter().map(|c| c.as_str()).collect();
        format!("has a host that is or resolves to a {} address", classes.join(" or "))
    } else if let Some(v) = c.exists {
        if v { "is present".into() } else { "is absent".into() }
    } else {
        "?".into()
    };
    format!("`{}` {test}", c.arg)
}

pub fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let p = policy::read(path, &crate::adapters::policy_vocabulary())
        .map_err(|e| anyhow!("{} refused: {e}", path.display()))?;
    println!("{}: valid, version {}", path.display(), p.version);
    for risk in [Risk::Low, Risk::Medium, Risk::High] {
        let l = p.level(risk);
        println!(
            "  {risk:<6} → {} (expiry {} s, re-ping {} s, review window {} s{})",
            l.mode.as_str(),
            l.expiry_secs,
            l.reping_secs,
            l.review_window_secs,
            l.escalate_to.as_ref().map(|e| format!(", escalates to {e}")).unwrap_or_default()
        );
    }
    println!("  anything no rule matches: {}", p.default_risk);
    for r in &p.rules {
        let action = r.action.as_ref().map_or("any action".to_owned(), |a| format!("action `{}`", a.as_str()));
        let when = if r.when.is_empty() {
            "always".to_owned()
        } else {
            r.when.iter().map(describe).collect::<Vec<_>>().join(" and ")
        };
        println!("  rule `{}`: adapter `{}`, {action}, when {when} → {}", r.name, r.adapter.as_str(), r.risk);
    }
    println!(
        "  budgets: {} actions per hour, {} per day on models",
        p.budgets.actions_per_hour, p.budgets.model_spend_per_day
    );
    println!(
        "  breaker: {} failures in {} s → assisted mode for {} s",
        p.breaker.failures, p.breaker.window_secs, p.breaker.cooldown_secs
    );
    Ok(ExitCode::SUCCESS)
}
