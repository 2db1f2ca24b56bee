//! The tiers scenario: replays the labelled workload through the reasoning
//! pipeline part by part, each on a fresh workspace: the tuning part
//! (`benches/workload/requests.jsonl`, which thresholds and examples were
//! adjusted against; its figures at the top level), the held-out test part
//! (`heldout.jsonl`, other templates and vocabulary; under `test`; its
//! misroutes have been read, so it is no longer blind), a second test part
//! written after that (`fresh.jsonl`, under `fresh`; read in turn) and a
//! third written before the second was read (`unseen.jsonl`, under
//! `unseen`; by the session that then widened the readers, so not blind
//! either) and a fourth written after that and measured once
//! (`letters.jsonl`, under `letters`; its misroutes read later), and a
//! fifth written before `letters` was read and measured once
//! (`dictated.jsonl`, under `dictated`: voice notes and second-language
//! English; read after), and a sixth written after that reading and
//! measured once (`shorthand.jsonl`, under `shorthand`: clipped chat
//! shorthand and slips of the keyboard; read after), and a seventh
//! written after the last change for those and measured once (`desk.jsonl`,
//! under `desk`: an operator's working day in no one register; read after),
//! and an eighth written after that reading and measured once
//! (`phone.jsonl`, under `phone`: typed on a phone, English as a second
//! language), with the
//! scripted OpenAI-compatible server standing in for both models, over a
//! memory loaded with the synthetic workspace. It reports which tier
//! answered, whether that was the labelled tier and outcome, the tokens
//! spent per request, and what sending every request to the planner would
//! have cost in tokens (the same server's token counts).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use steward::config::{Config, EmbeddingBackend};
use steward::domain::{Actor, MemoryKind, MemoryProvenance, NewMemory, Scope};
use steward::memory::{self, Contract, eval};
use steward::orchestrator::RunnerHandle;
use steward::policy::PolicyHandle;
use steward::reasoning::{Inbound, Input, Kind, Parts, Reasoner};
use steward::store::{Store, ledger};
use steward::telemetry::Metrics;

use crate::openai::{Reply, ScriptedLlm, tokens};
use crate::stats::{percentile_ms, round};

const WORKLOAD: &str = include_str!("../../../benches/workload/requests.jsonl");
const HELDOUT: &str = include_str!("../../../benches/workload/heldout.jsonl");
const FRESH: &str = include_str!("../../../benches/workload/fresh.jsonl");
const UNSEEN: &str = include_str!("../../../benches/workload/unseen.jsonl");
const LETTERS: &str = include_str!("../../../benches/workload/letters.jsonl");
const DICTATED: &str = include_str!("../../../benches/workload/dictated.jsonl");
const SHORTHAND: &str = include_str!("../../../benches/workload/shorthand.jsonl");
const DESK: &str = include_str!("../../../benches/workload/desk.jsonl");
const PHONE: &str = include_str!("../../../benches/workload/phone.jsonl");

fn parse(lines: &str) -> anyhow::Result<Vec<Item>> {
    Ok(lines.lines().map(serde_json::from_str).collect::<Result<_, _>>()?)
}

/// Every part: the tuning part's figures at the top level, each test
/// part's under its name.
pub async fn run(backend: EmbeddingBackend) -> anyhow::Result<Value> {
    let tuning = parse(WORKLOAD)?;
    let tests = [
        ("test", parse(HELDOUT)?),
        ("fresh", parse(FRESH)?),
        ("unseen", parse(UNSEEN)?),
        ("letters", parse(LETTERS)?),
        ("dictated", parse(DICTATED)?),
        ("shorthand", parse(SHORTHAND)?),
        ("desk", parse(DESK)?),
        ("phone", parse(PHONE)?),
    ];
    // Each request by its text, and by what steward reads of it (without
    // the courtesies and fillers around it), which is what a model is sent.
    let all: Arc<HashMap<String, Item>> = Arc::new(
        tuning
            .iter()
            .chain(tests.iter().flat_map(|(_, p)| p))
            .flat_map(|i| [(steward::domain::spoken::core(&i.text).to_owned(), i.clone()), (i.text.clone(), i.clone())])
            .collect(),
    );
    // `BENCH_PARTS=fresh,dictated` replays only the parts named (while
    // working on one; the figures to quote come from a full run).
    let only = std::env::var("BENCH_PARTS").ok();
    let chosen = |name: &str| only.as_deref().is_none_or(|o| o.split(',').any(|p| p.trim() == name));
    let mut figures = if chosen("tuning") {
        let mut f = run_part(backend, "tuning", &tuning, all.clone()).await?;
        f["part"] = "tuning".into();
        f
    } else {
        json!({"scenario": "tiers"})
    };
    figures["requests_total"] = (tuning.len() + tests.iter().map(|(_, p)| p.len()).sum::<usize>()).into();
    for (name, part) in tests.iter().filter(|(name, _)| chosen(name)) {
        let mut held_out = run_part(backend, name, part, all.clone()).await?;
        held_out.as_object_mut().map(|o| o.remove("scenario"));
        figures[*name] = held_out;
    }
    Ok(figures)
}

/// The saved workflow the workload's `/run` requests, and its requests in
/// words, start.
const WEEKLY_REPORT: &str = r#"
name = "weekly-report"
description = "Notes the week's report for a client"
[params.client]
type = "string"
[[triggers]]
kind = "command"
examples = ["send the weekly report", "weekly report for {client}", "send {client} their weekly report"]
patterns = ['(?i:report (?:for|to))\s+(?P<client>[A-Z][\w&.-]*)', '(?P<client>[A-Z][\w&.-]*)(?:\s+(?i:their|the))?\s+(?i:weekly report)']
[[steps]]
action = "note.write"
args = { text = "Weekly report for {{ params.client }}" }
"#;

#[derive(Debug, Clone, Deserialize)]
struct Item {
    text: String,
    tier: u8,
    expect: String,
    kind: String,
}

/// What a model would plausibly answer for `item`, by role.
fn reply(role: &str, item: Option<&Item>, user: &str) -> Reply {
    let Some(item) = item else {
        return Reply::json(json!({"kind": "unclear", "confidence": 0.3, "summary": "?"}));
    };
    let note = |text: &str| json!({"adapter": "note", "action": "write", "args": {"text": text}});
    match role {
        "executor" => match item.kind.as_str() {
            "action" if item.text.contains("hook") || item.text.contains("endpoint") => Reply::json(json!({
                "kind": "action", "confidence": 0.9, "summary": item.text,
                "step": {"adapter": "webhook", "action": "call", "args": {"url": "http://127.0.0.1:9/hooks/deploy", "method": "POST", "body": {"asked": item.text}}}
            })),
            "action" => Reply::json(
                json!({"kind": "action", "confidence": 0.9, "summary": item.text, "step": note(&item.text)}),
            ),
            "goal" => Reply::json(json!({"kind": "goal", "confidence": 0.85, "summary": item.text})),
            _ => Reply::json(json!({"kind": "answer", "confidence": 0.9, "summary": item.text})),
        },
        "researcher" => {
            // Records come one JSON object a line, each with its id.
            let first =
                user.lines().find_map(|l| serde_json::from_str::<Value>(l).ok()?["id"].as_str().map(str::to_owned));
            match (item.kind.as_str(), first) {
                ("memory", Some(id)) => Reply::json(
                    json!({"answer": format!("According to the records: {}", item.text), "confidence": 0.8, "citations": [id]}),
                ),
                _ => Reply::json(json!({"answer": null, "confidence": 0.1, "citations": []})),
            }
        }
        "planner" => Reply::json(plan_for(item)),
        _ => Reply::json(json!({"approve": true, "problems": []})),
    }
}

fn plan_for(item: &Item) -> Value {
    let note = |text: String| json!({"adapter": "note", "action": "write", "args": {"text": text}});
    json!({"summary": item.text, "steps": [
        note(format!("Started: {}", item.text)),
        note(format!("Checklist for: {}", item.text)),
        note(format!("Tell the people involved: {}", item.text)),
    ]})
}

fn role_of(system: &str) -> &'static str {
    ["planner", "executor", "researcher", "reviewer"]
        .into_iter()
        .find(|r| system.starts_with(&format!("You are steward's {r}")))
        .unwrap_or("qa")
}

/// The request's own text inside a model's user message.
fn asked(user: &str) -> Option<&str> {
    let rest = user.split_once("Request: ").or_else(|| user.split_once("Question: "))?.1;
    Some(rest.split('\n').next().unwrap_or(rest).trim())
}

/// One part of the workload on a fresh workspace; `by_text` holds every
/// labelled request, for the scripted models' answers. `BENCH_VERBOSE`
/// set to a part's name lists that part's misroutes on stderr, with the
/// records search puts first for a question (reading a test part's
/// misroutes ends its being blind).
async fn run_part(
    backend: EmbeddingBackend,
    name: &str,
    items: &[Item],
    by_text: Arc<HashMap<String, Item>>,
) -> anyhow::Result<Value> {
    let llm = ScriptedLlm::start().await;
    // A server that caches any shared prompt prefix, as llama.cpp's slots
    // and vLLM's prefix cache do (OpenAI's starts at 1,024 tokens, more
    // than steward's prompts).
    llm.cache_prefixes(0, 1);
    let lookup = by_text.clone();
    llm.respond_with(move |req| {
        let system = req["messages"][0]["content"].as_str().unwrap_or("");
        let user = req["messages"][1]["content"].as_str().unwrap_or("");
        reply(role_of(system), asked(user).and_then(|t| lookup.get(t)), user)
    });

    let dir = tempfile::tempdir()?;
    let mut config = Config::defaults_in(dir.path());
    config.embedding.backend = backend;
    for tier in [&mut config.llm.fast, &mut config.llm.deep] {
        tier.base_url = Some(llm.base_url());
        tier.model = Some("scripted".into());
    }
    let store = Store::open(&config.database_path(), &config.store).await?;
    let memory = memory::build(&config, &store).await?;
    let provenance = MemoryProvenance { actor: "telegram:1".into(), channel: "telegram".into(), ..Default::default() };
    let records = eval::workspace()
        .iter()
        .map(|i| {
            NewMemory::new(MemoryKind::Note, &i.text, Scope::parse("operator")?, provenance.clone(), 1_763_000_000_000)
        })
        .collect::<Result<Vec<_>, _>>()?;
    memory.add(&records, &Contract::operator()).await?;
    while memory.index_pending(steward::memory::INDEX_BATCH).await? > 0 {}
    let policy = PolicyHandle::new(steward::policy::Policy::builtin());
    let catalog = steward::app::catalog(&config, &store)?;
    let flows = dir.path().join("workflows");
    std::fs::create_dir_all(&flows)?;
    std::fs::write(flows.join("weekly-report.toml"), WEEKLY_REPORT)?;
    let parts = Parts {
        store: store.clone(),
        memory: memory.clone(),
        workflows: steward::workflows::Library::load(Some(&flows), catalog.clone(), Default::default()),
        catalog,
        policy,
        approvers: steward::domain::Approvers::new(vec!["telegram:1".into()]),
        runner: RunnerHandle::default(),
        metrics: Arc::new(Metrics::default()),
    };
    let reasoner = Reasoner::build(&config, parts).await?;

    let mut by_tier = [0usize; 4];
    let mut correct = 0usize;
    // Requests labelled for no model, and of those answered at a no-model
    // tier as expected; commands, and of those routed right.
    let (mut no_model_expected, mut no_model_right, mut commands, mut commands_right) = (0, 0, 0, 0);
    let mut fast: Vec<Duration> = Vec::new();
    let mut wrong: HashMap<String, usize> = HashMap::new();
    let mut always_deep_tokens = 0u64;
    let started = ledger_start();
    for (n, item) in items.iter().enumerate() {
        let inbound = Inbound {
            channel: "telegram".into(),
            external_id: format!("bench-{n}"),
            actor: Actor::new("telegram", "1"),
            input: Input::from_text(&item.text),
            chat: "telegram:1".into(),
        };
        let t = Instant::now();
        let outcome = reasoner.handle(&inbound).await?;
        let took = t.elapsed();
        by_tier[outcome.tier as usize] += 1;
        if outcome.tier <= 1 {
            fast.push(took);
        }
        let kind = match outcome.kind {
            Kind::Intent => "intent",
            _ => "reply",
        };
        // Tiers 0 and 1 both answer with no model: a request labelled for
        // one and answered by the other, the way it expects, is routed
        // right (a command read in words at tier 0 instead of by the
        // router at tier 1). A model tier must be the one labelled.
        let no_model = |tier: u8| tier <= 1;
        let same_tier = outcome.tier == item.tier || (no_model(outcome.tier) && no_model(item.tier));
        let right = same_tier && kind == item.expect;
        if no_model(item.tier) {
            no_model_expected += 1;
            no_model_right += usize::from(right);
        }
        if item.kind == "command" {
            commands += 1;
            commands_right += usize::from(right);
        }
        if right {
            correct += 1;
        } else {
            *wrong
                .entry(format!("{} labelled {} → tier {} {kind}", item.kind, item.tier, outcome.tier))
                .or_default() += 1;
            if std::env::var("BENCH_VERBOSE").is_ok_and(|v| v == name) {
                eprintln!("misrouted: {:?} → tier {} {kind}: {}", item.text, outcome.tier, outcome.text);
                if item.kind == "memory" || item.kind == "unknown_question" {
                    let q = memory::Query {
                        text: item.text.clone(),
                        kinds: MemoryKind::CITABLE.to_vec(),
                        limit: 3,
                        ..Default::default()
                    };
                    for h in memory.search(&q, &Contract::operator()).await?.hits {
                        let s = &h.scores;
                        eprintln!("    bm25#{:?} vec#{:?} {:.3?}: {}", s.bm25_rank, s.vector_rank, s.vector, h.text);
                    }
                }
            }
        }
        // What the rivals do: every turn to the big model.
        let (system, user) = reasoner.planner_prompt(&inbound, &item.text).await?;
        always_deep_tokens += tokens(&system) + tokens(&user) + tokens(&plan_for(item).to_string());
    }
    let calls = ledger::calls_since(store.reader(), started).await?;
    let spent: u64 = calls.iter().map(|c| u64::from(c.tokens_in) + u64::from(c.tokens_out)).sum();
    let prompt: u64 = calls.iter().map(|c| u64::from(c.tokens_in)).sum();
    let cached: u64 = calls.iter().map(|c| u64::from(c.tokens_cached)).sum();
    let mut by_role: HashMap<String, (u64, u64)> = HashMap::new();
    for c in &calls {
        let e = by_role.entry(c.role.clone()).or_default();
        e.0 += 1;
        e.1 += u64::from(c.tokens_in) + u64::from(c.tokens_out);
    }
    let by_role: HashMap<String, Value> =
        by_role.into_iter().map(|(r, (n, t))| (r, json!({"calls": n, "tokens_per_call": t / n.max(1)}))).collect();
    let requests = items.len();
    let tokens_per_request = spent as f64 / requests as f64;
    let always_deep = always_deep_tokens as f64 / requests as f64;
    Ok(json!({
        "scenario": "tiers",
        "requests": requests,
        "embedder": memory.embedder().name(),
        "by_tier": {"0": by_tier[0], "1": by_tier[1], "2": by_tier[2], "3": by_tier[3]},
        "no_llm_fraction": round((by_tier[0] + by_tier[1]) as f64 / requests as f64, 3),
        "routing_accuracy": round(correct as f64 / requests as f64, 3),
        "no_model_expected": no_model_expected,
        "no_model_answered_right": round(no_model_right as f64 / no_model_expected.max(1) as f64, 3),
        "commands": commands,
        "commands_routed_right": commands_right,
        "model_calls": calls.len(),
        "tokens_per_request": round(tokens_per_request, 1),
        "always_deep_tokens_per_request": round(always_deep, 1),
        "token_ratio": round(always_deep / tokens_per_request.max(1e-9), 2),
        "prompt_tokens_cached": round(cached as f64 / prompt.max(1) as f64, 3),
        "p50_ms_tier01": round(percentile_ms(&mut fast, 50.0), 2),
        "p99_ms_tier01": round(percentile_ms(&mut fast, 99.0), 2),
        "calls_by_role": by_role,
        "misrouted": wrong,
    }))
}

fn ledger_start() -> i64 {
    steward::store::now_millis() - 1
}
