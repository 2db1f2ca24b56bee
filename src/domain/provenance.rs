//! Provenance: who asked for something, through which channel, why, and which
//! agent and policy versions made the choices (invariant 7).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The person or system that asked, e.g. `telegram:12345` or `api`.
    pub actor: String,
    /// The channel the request came through: `http`, `cli`, `telegram`, ...
    pub channel: String,
    /// Why this exists, in words a person can read later.
    pub reason: Option<String>,
    /// The agent role that chose the action, and its content-hash version.
    pub agent: String,
    pub agent_version: String,
    /// The content hash of the policy that judged the action.
    pub policy_version: String,
}

impl Provenance {
    /// The agent name used when the operator wrote the plan themselves.
    pub const OPERATOR_AGENT: &'static str = "operator";
    /// The policy version recorded before any policy has judged an intent.
    pub const NO_POLICY: &'static str = "none";

    /// Provenance of a request written directly by the operator, with no agent
    /// involved and no policy yet applied.
    pub fn operator(channel: &str, actor: &str) -> Self {
        Self {
            actor: actor.to_owned(),
            channel: channel.to_owned(),
            reason: None,
            agent: Self::OPERATOR_AGENT.to_owned(),
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            policy_version: Self::NO_POLICY.to_owned(),
        }
    }
}
