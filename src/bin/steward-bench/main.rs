//! `steward-bench <scenario>`: prints one JSON line of figures per scenario.
//! Each scenario measures its own baseline in the same run (the raw SQLite
//! transaction limit, say), so ratios hold on a shared, noisy machine.

mod approvals_storm;
mod conversations;
mod crash;
#[path = "../../../tests/support/crash.rs"]
mod crash_harness;
mod intents;
mod latency;
mod memory;
#[path = "../../../tests/support/openai.rs"]
mod openai;
mod orchestrator;
#[path = "../../../tests/support/receiver.rs"]
mod receiver;
mod sqlite_limit;
mod stats;
#[path = "../../../tests/support/storm.rs"]
mod storm;
mod tiers;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use steward::config::Durability;

#[derive(Parser)]
#[command(name = "steward-bench", version, about = "steward's benchmarks")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Clone, Copy, ValueEnum)]
enum EmbedderArg {
    Hash,
    Minilm,
}

impl From<EmbedderArg> for steward::config::EmbeddingBackend {
    fn from(e: EmbedderArg) -> Self {
        match e {
            EmbedderArg::Hash => Self::Hash,
            EmbedderArg::Minilm => Self::Minilm,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    Process,
    Power,
}

impl From<Mode> for Durability {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Process => Durability::Process,
            Mode::Power => Durability::Power,
        }
    }
}

#[derive(Subcommand)]
enum Scenario {
    /// Raw single-row SQLite write transactions per second, in both durability modes.
    SqliteLimit {
        /// Seconds to measure each mode.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// Creates N intents through the store and the audit chain.
    Intents {
        #[arg(long, default_value_t = 20_000)]
        count: u32,
        #[arg(long, value_enum, default_value = "process")]
        durability: Mode,
    },
    /// Runs intents of no-op steps through the orchestrator.
    Orchestrator {
        #[arg(long, default_value_t = 20_000)]
        intents: u32,
        #[arg(long, default_value_t = 3)]
        steps: u32,
        #[arg(long, value_enum, default_value = "process")]
        durability: Mode,
    },
    /// Closed loop: one intent of N no-op steps at a time, each waited for,
    /// then 50 submitters at once; p50 and p99 per intent.
    Latency {
        #[arg(long, default_value_t = 2_000)]
        intents: u32,
        #[arg(long, default_value_t = 3)]
        steps: u32,
        #[arg(long, value_enum, default_value = "process")]
        durability: Mode,
    },
    /// Thousands of racing approval decisions; counts violations of exactly-once.
    Approvals {
        #[arg(long, default_value_t = 300)]
        approvals: usize,
        #[arg(long, default_value_t = 10_000)]
        presses: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Ingest and hybrid search at scale.
    Memory {
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        #[arg(long, value_enum, default_value = "hash")]
        embedder: EmbedderArg,
    },
    /// The embedder alone on the texts `memory` ingests (chat turns), in the indexer's batches.
    Embed {
        #[arg(long, default_value_t = 2_000)]
        records: usize,
        #[arg(long, value_enum, default_value = "minilm")]
        embedder: EmbedderArg,
    },
    /// The retrieval suite: any@5, any@10 and all@10 per kind of question, for words, vectors and hybrid.
    Retrieval {
        #[arg(long, value_enum, default_value = "minilm")]
        embedder: EmbedderArg,
        /// Fusion settings to try instead of the defaults (memory.fusion).
        #[arg(long, value_enum)]
        method: Option<steward::memory::search::Method>,
        #[arg(long)]
        depth: Option<usize>,
        #[arg(long)]
        lexical_weight: Option<f64>,
        #[arg(long)]
        vector_weight: Option<f64>,
        #[arg(long)]
        speaker_weight: Option<f64>,
        /// What a message's neighbours in its conversation gain (memory.fusion.neighbour).
        #[arg(long)]
        neighbour_weight: Option<f64>,
        /// Another suite in the same format (benches/conversations/generate.py writes one).
        #[arg(long)]
        suite: Option<std::path::PathBuf>,
        /// Write the questions hybrid search missed (with what it found) to this file.
        #[arg(long)]
        misses: Option<std::path::PathBuf>,
    },
    /// Replays the labelled workload through the reasoning tiers against a scripted model server.
    Tiers {
        #[arg(long, value_enum, default_value = "minilm")]
        embedder: EmbedderArg,
    },
    /// SIGKILLs `steward serve` at seeded random moments while it runs webhook intents.
    Crash {
        #[arg(long, default_value_t = 200)]
        intents: usize,
        #[arg(long, default_value_t = 1000)]
        kills: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A receiver that sometimes answers 5xx, 429 or hangs.
        #[arg(long)]
        faults: bool,
    },
    /// Runs the input properties (policy, FTS query, Retry-After, headers,
    /// Telegram and Discord parsing, plans, cron) for N cases each.
    Fuzz {
        #[arg(long, default_value_t = 100_000)]
        cases: u32,
        /// Only this property (see steward::fuzz::PROPERTIES).
        #[arg(long)]
        only: Option<String>,
        /// Start from this seed (default: a random one).
        #[arg(long)]
        seed: Option<u64>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let result = runtime.block_on(async {
        match cli.scenario {
            Scenario::SqliteLimit { seconds } => sqlite_limit::run(seconds).await,
            Scenario::Intents { count, durability } => intents::run(count, durability.into()).await,
            Scenario::Orchestrator { intents, steps, durability } => {
                orchestrator::run(intents, steps, durability.into()).await
            }
            Scenario::Latency { intents, steps, durability } => latency::run(intents, steps, durability.into()).await,
            Scenario::Approvals { approvals: n, presses, seed } => approvals_storm::run(n, presses, seed).await,
            Scenario::Memory { records, embedder } => memory::run(records, embedder.into()).await,
            Scenario::Retrieval {
                embedder,
                method,
                depth,
                lexical_weight,
                vector_weight,
                speaker_weight,
                neighbour_weight,
                suite,
                misses,
            } => {
                let d = steward::memory::Fusion::default();
                let fusion = steward::memory::Fusion {
                    method: method.unwrap_or(d.method),
                    depth: depth.unwrap_or(d.depth),
                    lexical: lexical_weight.unwrap_or(d.lexical),
                    vector: vector_weight.unwrap_or(d.vector),
                    speaker: speaker_weight.unwrap_or(d.speaker),
                    neighbour: neighbour_weight.unwrap_or(d.neighbour),
                };
                memory::retrieval(embedder.into(), fusion, suite.as_deref(), misses.as_deref()).await
            }
            Scenario::Embed { records, embedder } => memory::embed(records, embedder.into()).await,
            Scenario::Tiers { embedder } => tiers::run(embedder.into()).await,
            Scenario::Crash { intents, kills, seed, faults } => crash::run(intents, kills, seed, faults).await,
            Scenario::Fuzz { cases, only, seed } => fuzz(cases, only.as_deref(), seed),
        }
    });
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Every property for `cases` cases (each on its own thread); fails when any
/// property fails, after printing what they all did.
fn fuzz(cases: u32, only: Option<&str>, seed: Option<u64>) -> anyhow::Result<serde_json::Value> {
    let chosen: Vec<_> = steward::fuzz::PROPERTIES.iter().filter(|(n, _)| only.is_none_or(|o| o == *n)).collect();
    anyhow::ensure!(!chosen.is_empty(), "no property named {only:?}");
    let outcomes: Vec<_> = std::thread::scope(|s| {
        let runs: Vec<_> =
            chosen.iter().map(|(name, check)| s.spawn(move || steward::fuzz::run(name, *check, cases, seed))).collect();
        runs.into_iter().map(|r| r.join().expect("a property thread")).collect()
    });
    let failures = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let line =
        serde_json::json!({"scenario": "fuzz", "cases_each": cases, "failures": failures, "properties": outcomes});
    anyhow::ensure!(failures == 0, "{line}");
    Ok(line)
}
