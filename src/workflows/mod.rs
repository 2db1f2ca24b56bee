//! Workflows: the operator's recurring and triggered work, saved as files
//! and run with no model at all.
//!
//! A workflow is a TOML file in `workflows.dir` ([`definition`]): typed
//! parameters ([`params`]), triggers, and steps that are adapter actions
//! whose arguments are templates ([`template`]). The [`library`] keeps the
//! files in force and reloads them when they change. Every run is an
//! intent ([`run`]), written with its run row in one transaction and keyed
//! by what started it, so a cron period ([`scheduler`]), a retried API call
//! or a redelivered chat command starts at most one run. The runner, the
//! policy, approvals and compensation then treat it like any other intent.
//! A step that needs what has not happened yet (an `ask`'s answer, a
//! `wait_for`'s event, an earlier step's result) starts the run's next
//! intent, rendered when the run gets there ([`render`], [`progress`]).

pub mod definition;
pub mod digests;
pub mod hooks;
pub mod library;
pub mod params;
pub mod phrases;
pub mod phrasing;
pub mod progress;
pub mod reminders;
pub mod render;
pub mod run;
pub mod scheduler;
pub mod steps;
pub mod template;

pub use definition::{DefinitionError, Overlap, Param, Trigger, TriggerKind, Workflow};
pub use library::Library;
pub use params::ParamType;
pub use run::{Cause, Start, StartError, Started, start};
pub use steps::{Ask, StepDef, StepKind, Wait, WaitFor};

#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod scheduler_tests;
#[cfg(test)]
mod tests;
