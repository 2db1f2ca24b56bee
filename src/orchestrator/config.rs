//! The orchestrator's settings.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrchestratorConfig {
    /// How long a claimed step is leased. It must exceed every adapter's
    /// timeout: a lease that runs out means the runner died mid-step.
    pub lease_secs: u64,
    /// Steps executing at once.
    pub max_in_flight: usize,
    /// Steps claimed, and outcomes committed, per transaction at most.
    pub batch: u32,
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        Self { lease_secs: 120, max_in_flight: 64, batch: 256 }
    }
}
