//! The sections of `steward.toml`, each with its defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;

use crate::domain::RetryPolicy;
use serde::{Deserialize, Serialize};

/// How much a committed transaction survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL mode: a commit survives the steward process
    /// crashing or being killed; the last commits before a power loss or an
    /// OS crash may be rolled back (the database stays consistent).
    #[default]
    Process,
    /// `synchronous=FULL`: the WAL is fsynced on every commit, so a commit also
    /// survives a power loss or an OS crash, at the cost of one fsync each.
    Power,
}

impl Durability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Process => "process",
            Self::Power => "power",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub durability: Durability,
    /// How long a write waits for another process's lock before failing.
    pub busy_timeout_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { durability: Durability::Process, busy_timeout_ms: 5_000 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub addr: SocketAddr,
    /// The bearer token every `/v1` request must carry. Prefer
    /// `STEWARD_API_TOKEN` or `token_file`.
    pub token: Option<SecretString>,
    pub token_file: Option<PathBuf>,
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    /// Identities (`channel:id`) that `/v1/messages` may speak as, for a
    /// bridge from another chat platform. Never an approver: the token
    /// holder cannot borrow anyone's right to decide.
    pub bridge_actors: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            token_file: None,
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            bridge_actors: vec![],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// An `EnvFilter` directive; `RUST_LOG` overrides it when set.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Text, filter: "info".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingBackend {
    #[default]
    Minilm,
    Openai,
    Hash,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingConfig {
    pub backend: EmbeddingBackend,
    /// A directory with `model.safetensors`, `config.json` and `tokenizer.json`.
    pub model_dir: Option<PathBuf>,
    /// For `openai`: the endpoint, model and dimensions.
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub dimensions: usize,
    pub api_key: Option<SecretString>,
    pub api_key_file: Option<PathBuf>,
}

impl Default for EmbeddingConfig {
    fn default() -> Self {
        Self {
            backend: EmbeddingBackend::Minilm,
            model_dir: None,
            base_url: None,
            model: None,
            dimensions: 384,
            api_key: None,
            api_key_file: None,
        }
    }
}

/// How long records of one kind stay hot (in the vector index) and when they go.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// After this many days a record is archived: it leaves the vector index,
    /// stays searchable by words, and is rolled up into a summary.
    pub hot_days: u32,
    /// After this many days it is purged; 0 keeps it forever.
    #[serde(default)]
    pub purge_days: u32,
}

/// What a channel identity (`telegram:123`) may read and write.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeGrant {
    #[serde(default)]
    pub read: Vec<String>,
    #[serde(default)]
    pub write: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryConfig {
    /// Extra weight for recent records in search (0 turns it off).
    pub time_weight: f64,
    /// Retention per kind (`message`, `decision`, ...); kinds not listed are kept.
    pub retention: std::collections::BTreeMap<String, RetentionRule>,
    pub retention_every_secs: u64,
    /// Scopes per identity. Approvers read and write everything; everyone
    /// has their own `user:<channel>:<id>` scope; others read `public` only.
    pub identities: std::collections::BTreeMap<String, ScopeGrant>,
    /// A search that takes longer is cut off and reported.
    pub search_budget_ms: u64,
    /// How the two retrievers' rankings are fused.
    pub fusion: crate::memory::Fusion,
    /// Copies of text outside memory (what inbound events said, delivered
    /// messages, model answers) are scrubbed after this many days.
    pub copies_days: u64,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            time_weight: 0.0,
            retention: [("message".to_owned(), RetentionRule { hot_days: 90, purge_days: 730 })].into_iter().collect(),
            retention_every_secs: 3600,
            identities: Default::default(),
            search_budget_ms: 1_000,
            fusion: Default::default(),
            copies_days: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QdrantMode {
    /// Embedded Qdrant in the data directory.
    #[default]
    Edge,
    /// A Qdrant server over gRPC.
    Server,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QdrantConfig {
    pub mode: QdrantMode,
    pub url: Option<String>,
    pub api_key: Option<SecretString>,
    pub api_key_file: Option<PathBuf>,
    /// The server alias this workspace reads and writes through; by default
    /// `steward_` and the workspace id kept in the data directory, so
    /// workspaces sharing a server never touch each other's points.
    pub collection: Option<String>,
    /// Passed when steward creates a collection on a cluster.
    pub shard_number: Option<u32>,
    pub replication_factor: Option<u32>,
    pub write_consistency_factor: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoteConfig {
    pub retry: RetryPolicy,
}

/// Each adapter's settings, with its retry policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdaptersConfig {
    pub webhook: WebhookConfig,
    pub note: NoteConfig,
}

/// Where notices for the operator go, and how their delivery is retried.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Destinations such as `webhook:https://ntfy.example/steward`; with
    /// none, notices go to the log.
    pub operator: Vec<String>,
    pub retry: RetryPolicy,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            operator: vec![],
            retry: RetryPolicy { initial_ms: 500, multiplier: 2.0, max_ms: 300_000, max_attempts: u32::MAX },
        }
    }
}

/// The risk policy file.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// A `policy.toml`; without one, the built-in policy applies.
    pub path: Option<PathBuf>,
    /// How often the file is checked for changes.
    pub reload_secs: u64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self { path: None, reload_secs: 2 }
    }
}

/// Who may decide approvals: channel identities such as `telegram:12345`,
/// `discord:98765`, `http:api` (the bearer-token holder) or `cli:*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalsConfig {
    pub approvers: Vec<String>,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        Self { approvers: vec!["http:api".into(), "cli:*".into()] }
    }
}

/// The orchestrator's settings.
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

/// The webhook adapter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// How long one request may take before its outcome counts as unknown.
    pub timeout_ms: u64,
    pub retry: RetryPolicy,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self { timeout_ms: 10_000, retry: RetryPolicy::default() }
    }
}

/// Which name servers steward asks. The policy judges a call by the
/// addresses its host names resolve to, and the call connects only to
/// addresses of the same kind, resolved by the same servers.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
    /// `"ip"` or `"ip:port"` (port 53 when left out); none means the
    /// system's resolver.
    #[serde(deserialize_with = "name_servers")]
    pub servers: Vec<SocketAddr>,
    /// How long one query may take.
    pub timeout_ms: u64,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self { servers: vec![], timeout_ms: 2_000 }
    }
}

fn name_servers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<SocketAddr>, D::Error> {
    let given = Vec::<String>::deserialize(d)?;
    given
        .iter()
        .map(|s| {
            s.parse::<SocketAddr>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| {
                    serde::de::Error::custom(format!("`{s}` is not a name server address; write an IP, or IP:PORT"))
                })
        })
        .collect()
}
