//! steward: a self-hosted, chat-first operating layer for a one-person company.
//!
//! Every request becomes a durable intent, written down before anything acts on
//! it; the orchestrator drives it through policy, approval and adapters, and
//! everything is recorded in a hash-chained audit log. The modules, from the
//! bottom up (dependencies point down this list):
//!
//! - [`domain`]: pure types and rules (intents, steps, provenance, risk). No I/O.
//! - [`config`]: layered configuration (defaults, `steward.toml`, `STEWARD_*`)
//!   with secrets that never print.
//! - [`store`]: SQLite through sqlx: migrations, the inbox, intents and steps,
//!   and the audit chain.
//! - [`telemetry`]: the tracing subscriber and the Prometheus metrics.
//! - [`policy`]: the risk policy: rules over a step's arguments and every
//!   destination it may reach (names resolved first), levels, budgets.
//! - [`adapters`]: how steward acts on the world (webhook, email, note), each
//!   effect keyed for idempotency, with compensate and reconcile; each action
//!   declares which of its arguments are destinations.
//! - [`orchestrator`]: the intent and step state machines (pure) and the
//!   runner that performs them: leases, retries, deadlines, compensation,
//!   recovery, and the outbox.
//! - [`memory`]: records with provenance in SQLite + FTS5, embedders (local
//!   MiniLM, OpenAI-compatible, hashing), vector indexes (embedded Qdrant,
//!   Qdrant server), hybrid search, contracts and retention.
//! - [`channels`]: the ways in and out; for now the HTTP API (axum).
//! - [`app`]: builds the components from the config, runs them until a
//!   shutdown signal, and implements the CLI's commands.
//! - [`fuzz`]: properties of everything read from outside, run on random
//!   input in the tests and by `steward-bench fuzz`.

pub mod adapters;
pub mod app;
pub mod channels;
pub mod config;
pub mod digest;
pub mod domain;
pub mod fuzz;
pub mod memory;
pub mod orchestrator;
pub mod policy;
pub mod reasoning;
pub mod schedules;
pub mod store;
pub mod telemetry;
