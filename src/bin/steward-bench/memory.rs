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

pub async fn run(records: usize, backend: EmbeddingBackend) -> anyhow::Result<Value> {
    let (_dir, memory) = open(backend).await?;
    let items = eval::workspace();
    let scopes = ["operator", "team", "public", "user:telegram:2"];
    let provenance = MemoryProvenance { actor: "bench".into(), channel: "bench".into(), ..Default::default() };
    let start = Instant::now();
    let mut done = 0;
    while done < records {
        let n = 256.min(records - done);
        let batch = (done..done + n)
            .map(|i| {
                let text = format!("{} (entry {i})", items[i % items.len()].text);
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
    for mode in [Mode::Hybrid, Mode::Lexical, Mode::Vector] {
        let mut latencies = Vec::new();
        for i in 0..300 {
            let q = Query { text: questions[i % questions.len()].clone(), limit: 10, ..Default::default() };
            let t = Instant::now();
            memory.search_with(&q, &Contract::operator(), mode).await?;
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
        "rss_mb": round(rss_mb(), 0),
    }))
}

pub async fn retrieval(backend: EmbeddingBackend) -> anyhow::Result<Value> {
    let (_dir, memory) = open(backend).await?;
    let report = eval::run(&memory).await?;
    let mut v = serde_json::to_value(&report)?;
    v["scenario"] = "retrieval".into();
    v["embedder"] = memory.embedder().name().into();
    Ok(v)
}
