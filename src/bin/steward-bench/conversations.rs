//! The retrieval suite (`benches/conversations`): multi-session
//! conversations between named people, each in a scope of its own, and
//! questions of four kinds with their gold evidence turns. For words
//! alone, vectors alone and hybrid it reports, per kind, any@5 and any@10
//! (some evidence turn among the first 5 or 10) and all@10 (every one).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};
use steward::domain::{MemoryProvenance, NewMemory, Scope};
use steward::memory::search::Mode;
use steward::memory::{self, Contract, Memory, Query, import};

use crate::stats::round;

#[derive(Deserialize)]
struct Suite {
    conversations: Vec<Conversation>,
    questions: Vec<Question>,
}

#[derive(Deserialize)]
struct Conversation {
    id: String,
    sessions: Vec<Session>,
}

#[derive(Deserialize)]
struct Session {
    date: NaiveDate,
    turns: Vec<Turn>,
}

#[derive(Deserialize)]
struct Turn {
    id: String,
    speaker: String,
    text: String,
    minute: i64,
}

#[derive(Deserialize)]
struct Question {
    kind: String,
    question: String,
    evidence: Vec<String>,
    conversation: String,
}

/// The suite shipped with the repository (`benches/conversations/generate.py`).
const SUITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/conversations/suite.json");

fn scope(conversation: &str) -> anyhow::Result<Scope> {
    Ok(Scope::parse(&format!("conv:{}", conversation.to_ascii_lowercase()))?)
}

/// Loads every turn as a record (its speaker, its session's date); returns
/// record id → turn id.
async fn load(memory: &Memory, suite: &Suite) -> anyhow::Result<BTreeMap<String, String>> {
    let mut turn_of = BTreeMap::new();
    for c in &suite.conversations {
        let scope = scope(&c.id)?;
        let mut records = Vec::new();
        let mut turns = Vec::new();
        for s in &c.sessions {
            let day = s.date.and_hms_opt(18, 0, 0).unwrap_or_default().and_utc().timestamp_millis();
            for t in &s.turns {
                let provenance =
                    MemoryProvenance { actor: t.speaker.clone(), channel: "chat".into(), ..Default::default() };
                let mut m = NewMemory::new(import::said(&t.text), &t.text, scope.clone(), provenance, day)?;
                m.occurred_at = Some(day + t.minute * 60_000);
                records.push(m);
                turns.push(t.id.clone());
            }
        }
        let added = memory.add(&records, &Contract::operator()).await?;
        turn_of.extend(added.ids().into_iter().zip(turns));
    }
    while memory.index_pending(memory::INDEX_BATCH).await? > 0 {}
    Ok(turn_of)
}

/// Runs a suite (the shipped one unless `suite` names another); with `misses`, writes there each question hybrid search
/// did not answer in full, its evidence and what was found instead.
pub async fn run(memory: &Memory, suite: Option<&Path>, misses: Option<&Path>) -> anyhow::Result<Value> {
    let path = suite.unwrap_or(Path::new(SUITE));
    let suite: Suite = serde_json::from_slice(
        &std::fs::read(path).with_context(|| format!("reading the retrieval suite {}", path.display()))?,
    )
    .with_context(|| format!("{} is not a retrieval suite", path.display()))?;
    let turn_of = load(memory, &suite).await?;
    let turns: usize = suite.conversations.iter().flat_map(|c| &c.sessions).map(|s| s.turns.len()).sum();
    let mut report = serde_json::Map::new();
    let text_of: BTreeMap<&str, String> = suite
        .conversations
        .iter()
        .flat_map(|c| &c.sessions)
        .flat_map(|s| &s.turns)
        .map(|t| (t.id.as_str(), format!("{}: {}", t.speaker, t.text)))
        .collect();
    let mut missed = Vec::new();
    for (name, mode) in [("lexical", Mode::Lexical), ("vector", Mode::Vector), ("hybrid", Mode::Hybrid)] {
        // kind → (questions, any@5, any@10, all@10)
        let mut by_kind: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
        for q in &suite.questions {
            let query = Query {
                text: q.question.clone(),
                scopes: vec![scope(&q.conversation)?],
                limit: 10,
                ..Default::default()
            };
            let hits = memory.search_with(&query, &Contract::operator(), mode).await?.hits;
            let found: Vec<&str> = hits.iter().filter_map(|h| turn_of.get(&h.id).map(String::as_str)).collect();
            let within = |k: usize| q.evidence.iter().filter(|e| found.iter().take(k).any(|f| f == e)).count();
            if mode == Mode::Hybrid && within(10) < q.evidence.len() {
                missed.push(json!({
                    "kind": q.kind, "question": q.question,
                    "evidence": q.evidence.iter().map(|e| (e, text_of.get(e.as_str()))).collect::<Vec<_>>(),
                    "found": hits.iter().map(|h| {
                        let t = turn_of.get(&h.id).map(String::as_str).unwrap_or_default();
                        json!([t, text_of.get(t), h.scores])
                    }).collect::<Vec<_>>(),
                }));
            }
            for key in [q.kind.as_str(), "all"] {
                let row = by_kind.entry(key).or_default();
                row[0] += 1;
                row[1] += usize::from(within(5) > 0);
                row[2] += usize::from(within(10) > 0);
                row[3] += usize::from(within(10) == q.evidence.len());
            }
        }
        let kinds: serde_json::Map<String, Value> = by_kind
            .into_iter()
            .map(|(k, [n, a5, a10, all10])| {
                let r = |x: usize| round(x as f64 / n.max(1) as f64, 3);
                (k.to_owned(), json!({"any@5": r(a5), "any@10": r(a10), "all@10": r(all10)}))
            })
            .collect();
        report.insert(name.to_owned(), Value::Object(kinds));
    }
    if let Some(path) = misses {
        std::fs::write(path, serde_json::to_vec_pretty(&missed)?)?;
    }
    Ok(json!({
        "scenario": "conversations",
        "embedder": memory.embedder().name(),
        "conversations": suite.conversations.len(),
        "turns": turns,
        "questions": suite.questions.len(),
        "recall": report,
    }))
}
