//! The orchestrator drives each intent through its life: admission, step
//! execution under leases, retries with backoff, deadlines, compensation in
//! reverse order, and recovery after a crash.
//!
//! The rules are pure functions ([`intent_machine`], [`step_machine`]); the
//! [`Runner`] performs what they decide. Every decision commits before its
//! effect starts (a step is claimed, with its lease, before its adapter runs:
//! invariant 1), and outcomes of many steps are committed together in one
//! transaction (group commit), which is what makes `durability = "power"`
//! affordable. Timers are database rows, so they survive restarts.

mod apply;
mod batch;
pub mod control;
pub mod decisions;
mod execute;
pub mod expiry;
pub mod gate;
pub mod intent_machine;
mod recovery;
mod requests;
mod runner;
pub mod step_machine;

pub use apply::intent_event as apply_event;
pub use runner::{Runner, RunnerHandle};
