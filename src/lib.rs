//! steward: a self-hosted, chat-first operating layer for a one-person company.
//!
//! Every request becomes a durable intent, written down before anything acts on
//! it; the orchestrator drives it through policy, approval and adapters, and
//! everything is recorded in a hash-chained audit log. The modules, from the
//! bottom up (dependencies point down this list):
//!
//! - [`domain`]: pure types and rules: intents, steps, plans, approvals,
//!   actors, risk; what people say ([`domain::Input`]) and what steward says
//!   back ([`domain::Outbound`]); the [`domain::Clock`].
//! - [`config`]: layered configuration (defaults, `steward.toml`, `STEWARD_*`)
//!   with secrets that never print; every section's type.
//! - [`store`]: SQLite through sqlx: migrations, one repository file per
//!   table group, the clock components share, the anchored audit chain.
//! - [`telemetry`]: the tracing subscriber, the Prometheus metrics, and the
//!   JSON log read back per intent.
//! - [`policy`]: the risk policy: rules over a step's arguments and every
//!   destination it may reach (names resolved first), levels, budgets.
//! - [`memory`]: records with provenance in SQLite + FTS5, embedders (local
//!   MiniLM, OpenAI-compatible, hashing), vector indexes (embedded Qdrant,
//!   Qdrant server), hybrid search, contracts and retention.
//! - [`digest`]: digests, exceptions first, rendered for each destination.
//! - [`adapters`]: how steward acts on the world (webhook, email, note), each
//!   effect keyed for idempotency, with compensate and reconcile; each action
//!   declares which of its arguments are destinations.
//! - [`orchestrator`]: the intent and step state machines (pure; every
//!   effect an action) and what performs them: the gate, approvals and
//!   decisions, the runner with leases, retries, deadlines, compensation and
//!   recovery.
//! - [`schedules`]: recurring digests, fired once per period.
//! - [`workflows`]: saved workflows (TOML files with typed parameters,
//!   triggers and templated steps), each run an intent started exactly once.
//! - [`reasoning`]: the tiers that answer a request or make it an intent.
//! - [`channels`]: Telegram and Discord, and the outbox that delivers every
//!   [`domain::Outbound`].
//! - [`api`]: the HTTP API (axum), over the same services.
//! - [`app`]: builds the components from the config, runs them until a
//!   shutdown signal, and implements the CLI's commands.
//! - [`fuzz`]: properties of everything read from outside, run on random
//!   input in the tests and by `steward-bench fuzz`.
//!
//! `docs/ARCHITECTURE.md` has the flow and the invariants.

pub mod adapters;
pub mod api;
pub mod app;
pub mod channels;
pub mod config;
pub mod digest;
pub mod dns;
pub mod domain;
pub mod fuzz;
pub mod memory;
pub mod orchestrator;
pub mod policy;
pub mod reasoning;
pub mod schedules;
pub mod store;
pub mod telemetry;
pub mod workflows;
