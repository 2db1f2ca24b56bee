//! `steward workflows check|list|show|run|runs|pause|resume`. `run` writes
//! the run's intent into the store; a running server picks it up.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use chrono::Utc;

use super::intents::open_existing;
use super::print_json;
use crate::config::Config;
use crate::policy::PolicyHandle;
use crate::reasoning::when;
use crate::schedules::{self, Schedule};
use crate::store::{Store, workflows as runs};
use crate::workflows::{Cause, Library, Start, StartError, Started, TriggerKind, Workflow};

/// The workflows in force under `config`: the files in `workflows.dir`,
/// and a built-in one per `[[schedules]]` entry, in the operator's zone.
pub fn load_library(config: &Config, catalog: crate::adapters::Catalog) -> anyhow::Result<(Library, Vec<Schedule>)> {
    let available =
        schedules::Available { email: catalog.get("email").is_some(), ..schedules::Available::from_config(config) };
    let schedules = schedules::parse(&config.schedules, &available).map_err(|e| anyhow!("{e}"))?;
    let builtins = crate::workflows::digests::all(&schedules, &catalog).map_err(|e| anyhow!("{e}"))?;
    let zone: chrono_tz::Tz = config.workflows.timezone.parse().map_err(|_| {
        anyhow!("workflows.timezone `{}` is not an IANA time zone (e.g. Europe/Berlin)", config.workflows.timezone)
    })?;
    let secrets = crate::adapters::Secrets::new(config.secrets.clone());
    let lib = Library::load(Some(&config.workflows.dir), catalog, secrets).in_zone(zone).with_builtins(builtins);
    Ok((lib, schedules))
}

pub fn library(config: &Config, store: &Store) -> anyhow::Result<Library> {
    let (lib, _) = load_library(config, super::catalog(config, store)?)?;
    for (path, why) in lib.refused() {
        eprintln!("warning: {} refused: {why}", path.display());
    }
    Ok(lib)
}

/// Validates one file against the catalog and the policy, renders its steps
/// with sample values, and says what each trigger would do next.
pub async fn check(config: &Config, path: &Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let store = Store::in_memory().await?;
    let catalog = super::catalog(config, &store)?;
    let w = Workflow::parse(&text, &|a: &str, b: &str| catalog.offers(a, b))
        .map_err(|e| anyhow!("{} refused: {e}", path.display()))?;
    println!("{}: valid workflow `{}`, version {}", path.display(), w.name, w.version);
    let policy = PolicyHandle::load(config.policy.path.as_deref(), crate::adapters::policy_vocabulary())
        .map_err(|(p, e)| anyhow!("policy file {} refused: {e}", p.display()))?
        .get();
    let start = Start {
        workflow: &w,
        trigger: "manual",
        key: "check".into(),
        args: w.sample_args(),
        cause: Cause::Check,
        actor: "cli".into(),
        channel: "cli".into(),
        period: None,
    };
    let ctx = crate::workflows::run::context(&w, &w.sample_args(), &start);
    let steps = crate::workflows::render::first_intent(&w, &ctx, &catalog, Utc::now().timestamp_millis())
        .map_err(|e| anyhow!("with sample values, {e}"))?;
    if let Ok(plan) = crate::domain::Plan::new(steps) {
        let facts =
            crate::orchestrator::gate::facts_of(&catalog, &policy, &plan, std::time::Duration::from_secs(2)).await;
        let j = policy.judge(&plan, &facts);
        println!("with sample values: {} risk ({}), {:?}", j.risk.as_str(), j.rule, j.mode);
    }
    let now = Utc::now();
    for t in &w.triggers {
        let next = match &t.kind {
            TriggerKind::Cron { timing, overlap } => match timing.next_after(now) {
                Some(n) => format!("next at {} ({}), overlap {overlap:?}", n.to_rfc3339(), timing.tz.name()),
                None => "never again".into(),
            },
            TriggerKind::At { at } if *at > now => format!("once, at {}", at.to_rfc3339()),
            TriggerKind::At { at } => format!("never: {} is past", at.to_rfc3339()),
            TriggerKind::Command(phrasing) => match phrasing.examples.as_slice() {
                [] => format!("on `/run {}`", w.name),
                [first, ..] => format!(
                    "on `/run {}`, or a request like “{first}” ({} examples, {} patterns)",
                    w.name,
                    phrasing.examples.len(),
                    phrasing.patterns.len()
                ),
            },
            TriggerKind::Webhook { scheme, secret, .. } => {
                if !config.secrets.contains_key(secret) {
                    bail!(
                        "trigger `{}`: the secret `{secret}` is not configured (set STEWARD_SECRETS__{} or secret_files.{secret})",
                        t.name,
                        secret.to_ascii_uppercase()
                    );
                }
                format!("on POST /hooks/{}, signed ({}) with the secret `{secret}`", w.name, scheme.name())
            }
        };
        println!("trigger {} ({}): {next}", t.name, t.kind.label());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn list(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    // Which are paused is in the server's database, when there is one.
    let (store, paused) = match open_existing(config).await {
        Ok(store) => {
            let paused = runs::paused(store.reader()).await?;
            (store, paused)
        }
        Err(_) => (Store::in_memory().await?, vec![]),
    };
    let lib = library(config, &store)?;
    let all = lib.all();
    if json {
        let items = all.iter().map(|w| crate::api::WorkflowView::new(w, paused.contains(&w.name))).collect();
        print_json(&crate::api::WorkflowPage { items, next_cursor: None })?;
    } else if all.is_empty() {
        println!("no workflows in {}", config.workflows.dir.display());
    } else {
        for w in &all {
            let triggers: Vec<&str> = w.triggers.iter().map(|t| t.name.as_str()).collect();
            let state = if paused.contains(&w.name) { " (paused)" } else { "" };
            println!("{:<24} {}  [{}]{state}  {}", w.name, w.version, triggers.join(", "), w.description);
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn show(config: &Config, name: &str) -> anyhow::Result<ExitCode> {
    let store = Store::in_memory().await?;
    let w = library(config, &store)?.get(name).with_context(|| format!("no workflow `{name}`"))?;
    println!("{}  version {}\n{}", w.name, w.version, w.description);
    for p in &w.params {
        let default = p.default.as_ref().map(|d| format!(" = {d}")).unwrap_or_else(|| " (required)".into());
        println!("  param {}: {}{default}  {}", p.name, p.ty.name(), p.description);
    }
    for t in &w.triggers {
        println!("  trigger {} ({})", t.name, t.kind.label());
    }
    for s in &w.steps {
        let cond = s.condition.as_ref().map(|c| format!(" if {c}")).unwrap_or_default();
        println!("  step {}: {}{cond}", s.id, s.describe());
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts a run; prints the intent's id (or, with `--json`, the run).
/// Starts a run of `w` from the command line: a new key each time.
pub async fn by_hand(
    store: &Store,
    lib: &Library,
    w: &Workflow,
    args: serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<Started> {
    let start = Start {
        workflow: w,
        trigger: "manual",
        key: format!("cli:{}", ulid::Ulid::new()),
        args,
        cause: Cause::Cli,
        actor: super::approvals::me().to_string(),
        channel: "cli".into(),
        period: None,
    };
    match crate::workflows::start(store, lib.catalog(), &start).await {
        Ok(s) => Ok(s),
        Err(StartError::Store(e)) => Err(e.into()),
        Err(e) => bail!("{e}"),
    }
}

pub async fn run(config: &Config, name: &str, args: &[String], json: bool) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let lib = library(config, &store)?;
    let w = lib.get(name).with_context(|| format!("no workflow `{name}`"))?;
    let mut given = serde_json::Map::new();
    for a in args {
        let (k, v) = a.split_once('=').ok_or_else(|| anyhow!("--arg `{a}`: use key=value"))?;
        given.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
    }
    let started = by_hand(&store, &lib, &w, given).await?;
    let intent = match &started {
        Started::New(id) | Started::Existing(Some(id)) => Some(id.to_string()),
        _ => None,
    };
    if json {
        print_json(&serde_json::json!({"workflow": w.name, "version": w.version, "intent_id": intent}))?;
    } else {
        match (&started, intent) {
            (Started::Skipped(why), _) => println!("nothing to do: {why}"),
            (Started::Waiting(what), _) => println!("started; it {what}"),
            (_, Some(id)) => println!("{id}"),
            _ => println!("nothing to do"),
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn list_runs(config: &Config, name: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let found = runs::runs(store.reader(), name, 50).await?;
    if json {
        print_json(&serde_json::json!({"items": found, "next_cursor": null}))?;
    } else if found.is_empty() {
        println!("no runs of {name}");
    } else {
        for r in &found {
            let state = r.state.clone().unwrap_or_else(|| r.outcome.clone());
            let catch_up = if r.catch_up { " (catch-up)" } else { "" };
            let intent = r.intent_id.as_deref().unwrap_or("-");
            println!("{}  {intent}  {state:<17} {}{catch_up}  {}", when(r.started_at), r.trigger, r.version);
            if let Some(note) = &r.note {
                println!("    {note}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn pause(config: &Config, name: &str, paused: bool) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let mut tx = store.begin().await?;
    runs::set_paused(&mut tx, name, paused, store.now()).await?;
    tx.commit().await?;
    store.close().await;
    println!("{name} {}", if paused { "paused" } else { "resumed: periods from now on run" });
    Ok(ExitCode::SUCCESS)
}
