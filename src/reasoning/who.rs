//! Who is asking: whether they may act (the operator, an approver), what
//! memory they may read (their contract), and whether they are over their
//! rate limit (everyone but the operator has one).

use std::collections::BTreeMap;
use std::time::Duration;

use super::limits::{Limiter, Verdict};
use crate::config::ScopeGrant;
use crate::domain::{Actor, Approvers};
use crate::memory::Contract;

pub(super) struct People {
    approvers: Approvers,
    /// Extra scopes granted to named identities (`memory.identities`).
    identities: BTreeMap<String, ScopeGrant>,
    /// Messages per identity per minute, for everyone but the operator.
    limiter: Limiter,
}

impl People {
    pub fn new(approvers: Approvers, identities: BTreeMap<String, ScopeGrant>, per_minute: u32) -> Self {
        Self { approvers, identities, limiter: Limiter::new(per_minute, Duration::from_secs(60)) }
    }

    /// Whether `who` is the operator (an approver), who may ask for actions.
    pub fn acts(&self, who: &Actor) -> bool {
        self.approvers.admit(who)
    }

    pub fn approvers(&self) -> std::sync::Arc<Vec<String>> {
        self.approvers.get()
    }

    /// What `who` may read and write in memory.
    pub fn contract(&self, who: &Actor) -> Contract {
        Contract::for_identity(who, &self.approvers.get(), self.identities.get(&who.to_string()))
    }

    /// Whether one more message from `who` is within their limit. The
    /// operator is never limited.
    pub fn admit_message(&self, who: &Actor) -> Verdict {
        if self.acts(who) {
            return Verdict::Allow;
        }
        self.limiter.check(&who.to_string(), std::time::Instant::now())
    }
}
