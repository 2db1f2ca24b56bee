//! Memory at scale: ingest N records (embedding and indexing included) and
//! time hybrid searches, query embedding included; and the retrieval
//! evaluation, as a scenario.

use std::time::Instant;

use serde_json::{Value, json};
use steward::config::{Config, EmbeddingBackend};
use steward::domain::{MemoryKind, MemoryProvenance, NewMemory, Scope};
use steward::memory::search::Mode;
use steward::memory::{self, Contract, Query, eval};
use steward::store::Store;

use crate::stats::round;

/// A data directory removed at the end, unless `STEWARD_BENCH_KEEP` is set.
struct KeptDir(Option<tempfile::TempDir>);

impl Drop for KeptDir {
    fn drop(&mut self) {
        if let (Some(dir), Some(_)) = (self.0.take(), std::env::var_os("STEWARD_BENCH_KEEP")) {
            eprintln!("kept the data directory {}", dir.keep().display());
        }
    }
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

async fn open(backend: EmbeddingBackend) -> anyhow::Result<(tempfile::TempDir, memory::Memory)> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::defaults_in(dir.path());
    config.embedding.backend = backend;
    let store = Store::open(&config.database_path(), &config.store).await?;
    let memory = memory::build(&config, &store).await?;
    Ok((dir, memory))
}

/// A short chat turn of about twenty words, different for each `i`: what
/// bulk ingest is measured on.
pub fn chat_turn(i: usize) -> String {
    const WHO: [&str; 8] = ["Anna", "Bob", "Priya", "Lena", "Omar", "Jonas", "Mei", "Carlos"];
    const DID: [&str; 6] = [
        "moved the call about",
        "sent the latest numbers for",
        "asked for a discount on",
        "signed off on",
        "flagged a risk in",
        "wants a demo of",
    ];
    const WHAT: [&str; 7] = [
        "the Globex renewal",
        "the Lisbon office lease",
        "invoice batch",
        "the onboarding flow",
        "the Q3 budget",
        "the beta launch",
        "the support backlog",
    ];
    const WHEN: [&str; 5] = [
        "before Friday",
        "next Tuesday morning",
        "after the board meeting",
        "by the end of the month",
        "tomorrow at noon",
    ];
    format!(
        "{} {} {} {} {i}; please check with {} and reply {} so we can close it out.",
        WHO[i % WHO.len()],
        DID[(i / 8) % DID.len()],
        WHAT[(i / 48) % WHAT.len()],
        if i % 3 == 0 { "number" } else { "item" },
        WHO[(i / 3 + 5) % WHO.len()],
        WHEN[(i / 7) % WHEN.len()],
    )
}

/// The embedder alone on the same texts `memory` ingests, in the
/// indexer's batches: what ingest's overhead is measured against.
pub async fn embed(records: usize, backend: EmbeddingBackend) -> anyhow::Result<Value> {
    let (_dir, memory) = open(backend).await?;
    let texts: Vec<String> = (0..records).map(chat_turn).collect();
    let start = Instant::now();
    for batch in texts.chunks(memory::INDEX_BATCH as usize) {
        memory.embedder().embed(batch).await?;
    }
    let per_s = records as f64 / start.elapsed().as_secs_f64();
    Ok(
        json!({"scenario": "embed", "records": records, "embedder": memory.embedder().name(), "embed_per_s": round(per_s, 1)}),
    )
}

pub async fn run(records: usize, backend: EmbeddingBackend) -> anyhow::Result<Value> {
    let (dir, memory) = open(backend).await?;
    // STEWARD_BENCH_KEEP=1 keeps the data directory, to look at its
    // database's query plans afterwards.
    let _dir = KeptDir(Some(dir));
    // Declared after the directory, so dropped (and flushed) before it goes.
    let memory = memory;
    let items = eval::workspace();
    let scopes = ["operator", "team", "public", "user:telegram:2"];
    let provenance = MemoryProvenance { actor: "bench".into(), channel: "bench".into(), ..Default::default() };
    let start = Instant::now();
    let mut done = 0;
    while done < records {
        let n = 256.min(records - done);
        let batch = (done..done + n)
            .map(|i| {
                // Chat turns, with the workspace's records among them for
                // the searches below to find.
                let text = match i % 4 {
                    0 => format!("{} (entry {i})", items[(i / 4) % items.len()].text),
                    _ => chat_turn(i),
                };
                let scope = Scope::parse(scopes[i % scopes.len()]).expect("valid");
                NewMemory::new(MemoryKind::Note, &text, scope, provenance.clone(), 1_700_000_000_000 + i as i64)
            })
            .collect::<Result<Vec<_>, _>>()?;
        memory.add(&batch, &Contract::operator()).await?;
        done += n;
    }
    // Large batches are embedded by the indexer: ingest ends when it has them.
    while memory.index_pending(memory::INDEX_BATCH).await? > 0 {}
    let ingest_per_s = records as f64 / start.elapsed().as_secs_f64();
    memory.index().maintain().await?;
    let questions: Vec<String> = items.iter().filter_map(|i| i.question.clone()).collect();
    let mut timings = Vec::new();
    // The operator (every scope), then a collaborator who reads one scope
    // of the four.
    let collaborator = Contract { read: vec!["public".into()], write: vec![] };
    let runs = [
        (Mode::Hybrid, Contract::operator()),
        (Mode::Lexical, Contract::operator()),
        (Mode::Vector, Contract::operator()),
        (Mode::Hybrid, collaborator),
    ];
    for (mode, reader) in &runs {
        let mut latencies = Vec::new();
        for i in 0..300 {
            let q = Query { text: questions[i % questions.len()].clone(), limit: 10, ..Default::default() };
            let t = Instant::now();
            memory.search_with(&q, reader, *mode).await?;
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        latencies.sort_unstable_by(f64::total_cmp);
        timings.push(latencies);
    }
    let pct = |mode: usize, p: f64| {
        let l = &timings[mode];
        l[((p / 100.0) * (l.len() - 1) as f64).round() as usize]
    };
    Ok(json!({
        "scenario": "memory",
        "records": records,
        "embedder": memory.embedder().name(),
        "ingest_per_s": round(ingest_per_s, 1),
        "search_p50_ms": round(pct(0, 50.0), 2),
        "search_p99_ms": round(pct(0, 99.0), 2),
        "lexical_p50_ms": round(pct(1, 50.0), 2),
        "vector_p50_ms": round(pct(2, 50.0), 2),
        "scoped_p50_ms": round(pct(3, 50.0), 2),
        "scoped_p99_ms": round(pct(3, 99.0), 2),
        "rss_mb": round(rss_mb(), 0),
    }))
}

/// The retrieval suite (multi-session conversations, by kind of question),
/// and the small workspace evaluation beside it.
pub async fn retrieval(
    backend: EmbeddingBackend,
    fusion: memory::Fusion,
    suite: Option<&std::path::Path>,
    misses: Option<&std::path::Path>,
) -> anyhow::Result<Value> {
    fusion.check().map_err(|e| anyhow::anyhow!(e))?;
    let (_dir, memory) = open(backend).await?;
    let mut v = crate::conversations::run(&memory.with_fusion(fusion), suite, misses).await?;
    let (_dir, memory) = open(backend).await?;
    v["workspace"] = serde_json::to_value(eval::run(&memory.with_fusion(fusion)).await?)?;
    v["fusion"] = json!({"method": format!("{:?}", fusion.method).to_lowercase(), "depth": fusion.depth,
        "lexical": fusion.lexical, "vector": fusion.vector, "speaker": fusion.speaker});
    v["scenario"] = "retrieval".into();
    Ok(v)
}
