//! `steward audit verify`: walks the hash chain, checks it against its
//! anchors (the `audit.anchor` file the server keeps, and any `SEQ:HASH`
//! given, from a digest say), and cross-checks every intent's state.

use std::process::ExitCode;

use serde::Serialize;

use super::intents::open_existing;
use super::print_json;
use crate::config::Config;
use crate::store::anchor::{self, Head};
use crate::store::audit::{self, Unaudited, Verification};

#[derive(Debug, Serialize)]
struct Report {
    chain: Verification,
    /// Each anchor checked, and what was wrong with it.
    anchors: Vec<(String, Option<String>)>,
    unaudited: Vec<Unaudited>,
}

impl Report {
    fn intact(&self) -> bool {
        self.chain.broken.is_none() && self.anchors.iter().all(|(_, e)| e.is_none()) && self.unaudited.is_empty()
    }
}

/// Exits 0 when the chain is intact, reaches its anchors and accounts for
/// every intent's state; 1 otherwise.
pub async fn verify(config: &Config, json: bool, given: &[String]) -> anyhow::Result<ExitCode> {
    let mut heads: Vec<(String, Head)> = Vec::new();
    for g in given {
        let head: Head = g.parse().map_err(|e| anyhow::anyhow!("--anchor `{g}`: {e}"))?;
        heads.push((format!("--anchor {head}"), head));
    }
    let file = config.data_dir.join(anchor::FILE);
    if let Some(head) = anchor::read(&file).map_err(anyhow::Error::msg)? {
        heads.push((format!("{} ({head})", file.display()), head));
    }
    let store = open_existing(config).await?;
    let chain = audit::verify(store.reader()).await?;
    let mut anchors = Vec::new();
    for (name, head) in &heads {
        anchors.push((name.clone(), audit::holds(store.reader(), head).await?.err()));
    }
    let unaudited = audit::unaudited_states(store.reader()).await?;
    let report = Report { chain, anchors, unaudited };
    if json {
        print_json(&report)?;
    } else {
        print(&report);
    }
    Ok(if report.intact() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print(r: &Report) {
    match &r.chain.broken {
        None if r.intact() => println!("audit chain intact: {} rows verified", r.chain.rows),
        None => println!("audit chain links hold: {} rows verified", r.chain.rows),
        Some(b) => {
            println!("audit chain BROKEN at row {}: {} ({} rows verified before it)", b.seq, b.reason, r.chain.rows)
        }
    }
    for (name, problem) in &r.anchors {
        match problem {
            None => println!("anchor {name}: held"),
            Some(why) => println!("anchor {name}: BROKEN: {why}"),
        }
    }
    for u in &r.unaudited {
        let audited = u.audited.as_deref().map_or("no audit row".to_owned(), |a| format!("the audit says `{a}`"));
        println!("intent {} is `{}` but {audited}: its state was changed outside the audit log", u.intent, u.state);
    }
}
