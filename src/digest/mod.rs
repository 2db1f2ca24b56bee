//! Digests: what happened, exceptions first, so one message clears many
//! small decisions. [`build`] reads the store (no model is called);
//! [`render`] turns the result into Telegram HTML, a Discord embed, plain
//! text and HTML email.

pub mod render;

use serde::Serialize;

use crate::domain::Millis;
use crate::store::digest::{self, Cost, Deadline, Done, Exception, Pending};
use crate::store::{Store, StoreError};

/// How far ahead "upcoming deadlines" looks.
const DEADLINE_HORIZON_MS: i64 = 7 * 24 * 3_600_000;

/// A digest's content, before any rendering.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    /// The schedule it is for (or `manual`).
    pub schedule: String,
    pub since: Millis,
    pub until: Millis,
    /// Sent late, for a period missed while steward was down.
    pub catch_up: bool,
    pub exceptions: Vec<Exception>,
    pub pending: Vec<Pending>,
    pub completed: Vec<Done>,
    pub deadlines: Vec<Deadline>,
    pub costs: Vec<Cost>,
    pub memory: Vec<(String, i64)>,
    /// The audit chain's head when the digest was made, `SEQ:HASH`: an
    /// anchor that leaves the machine (`steward audit verify --anchor`).
    pub audit_head: Option<String>,
}

impl Digest {
    /// Nothing to report: no exception, nothing waiting, nothing done, no
    /// deadline, no spend, nothing remembered.
    pub fn is_empty(&self) -> bool {
        self.exceptions.is_empty()
            && self.pending.is_empty()
            && self.completed.is_empty()
            && self.deadlines.is_empty()
            && self.costs.is_empty()
            && self.memory.is_empty()
    }

    /// Pending approvals that are low risk and wait before running: the ones
    /// one "approve all" may clear.
    pub fn low_risk_waiting(&self) -> usize {
        self.pending.iter().filter(|p| p.risk == "low" && p.kind == "approve_before").count()
    }
}

/// Reads what happened between `since` and `until`.
pub async fn build(
    store: &Store,
    schedule: &str,
    since: Millis,
    until: Millis,
    catch_up: bool,
) -> Result<Digest, StoreError> {
    let pool = store.reader();
    Ok(Digest {
        schedule: schedule.to_owned(),
        since,
        until,
        catch_up,
        exceptions: digest::exceptions(pool, since).await?,
        pending: digest::pending(pool).await?,
        completed: digest::completed(pool, since).await?,
        deadlines: digest::deadlines(pool, until + DEADLINE_HORIZON_MS).await?,
        costs: digest::costs(pool, since).await?,
        memory: digest::memory_added(pool, since).await?,
        audit_head: crate::store::audit::head(pool).await?.map(|h| h.to_string()),
    })
}
