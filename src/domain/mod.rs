//! Pure types and rules of steward: intents, steps, provenance and risk,
//! and the conversation's edge: what people say ([`Input`]) and what
//! steward says back ([`Outbound`]).
//!
//! Nothing here does I/O (but [`SystemClock`] reads the system's clock).
//! Everything that crosses the edge (HTTP bodies, CLI arguments, rows read
//! back from SQLite) is parsed into these types once, so the rest of the
//! crate can trust them: an intent id is always a ULID, a plan always has its
//! steps numbered 0..n, a terminal state never has a next step.

mod address;
mod approval;
mod clock;
mod command;
mod destination;
mod intent;
mod memory;
mod menu;
mod outbound;
mod plan;
mod press;
mod provenance;
mod request;
mod retry;
mod risk;
pub mod spoken;
pub mod stamp;
mod step;
mod wire;

pub use address::{AddressClass, Reach};
pub use approval::{Actor, ApprovalKind, ApprovalState, Approvers, Decision, Refusal};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock, idle};
pub use command::{Command, HELP, Input, Press, Verb};
pub use destination::{Destination, DestinationArg, DestinationKind, destinations, lookup};
pub use intent::{Intent, IntentId, IntentState, IntentText};
pub use memory::{MemoryKind, MemoryProvenance, MemoryRecord, NewMemory, Scope};
pub use menu::{MAX_BUTTONS, MenuAction, MenuButton};
pub use outbound::{Citation, DigestMessage, Notice, Occasion, Outbound};
pub use plan::{Identifier, Plan, PlannedStep};
pub use provenance::Provenance;
pub use request::{ApprovalRequest, CostEstimate, DestinationView, Question, StepView};
pub use retry::{MAX_RETRY_AFTER, RetryPolicy, parse_retry_after};
pub use risk::Risk;
pub use spoken::{Latest, Period};
pub use step::{IdempotencyKey, Step, StepState};

/// A value from outside did not parse into a domain type. The message is meant
/// for the person who sent it: it names the field and what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    pub field: String,
    pub reason: String,
}

impl InvalidInput {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

/// Milliseconds since the Unix epoch: the one time format stored in SQLite,
/// so ordering and timer comparisons are plain integer comparisons.
pub type Millis = i64;
