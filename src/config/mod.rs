//! Layered configuration: built-in defaults, then `steward.toml` (or the file
//! given with `--config`), then `STEWARD_*` environment variables with `__`
//! for nesting (`STEWARD_STORE__DURABILITY=power`).
//!
//! Secrets (bot tokens, API keys, the HTTP bearer token) are [`SecretString`]s:
//! they print as `[REDACTED]` and come from the environment or from a
//! `*_file` path, so they never need to sit in the config file itself.

mod channels;
mod llm;
mod schedule;
mod secret;
mod sections;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Deserialize;

pub use channels::{DiscordConfig, TelegramConfig, TelegramMode};
pub use llm::{LlmConfig, MaxTokensField, OutputFormat, Price, ReasoningConfig, TierConfig};
pub use schedule::{EmailConfig, ScheduleConfig, SmtpSecurity, WhenEmpty, WorkflowsConfig};
pub use secrecy::{ExposeSecret, SecretString};
pub use secret::matches as secret_matches;
pub use sections::{
    AdaptersConfig, ApprovalsConfig, DnsConfig, Durability, EmbeddingBackend, EmbeddingConfig, HttpConfig, LogConfig,
    LogFormat, MemoryConfig, NoteConfig, NotifyConfig, OrchestratorConfig, PolicyConfig, QdrantConfig, QdrantMode,
    RetentionRule, ScopeGrant, StoreConfig, WebhookConfig,
};

/// The file name looked for in the working directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "steward.toml";
/// The data directory used when neither `--data-dir` nor `data_dir` is set.
pub const DEFAULT_DATA_DIR: &str = "./steward-data";
/// The commented template `steward init` writes; the same text as the
/// repository's `steward.example.toml`, so the two can never disagree.
pub const TEMPLATE: &str = include_str!("../../steward.example.toml");

/// The top-level keys of [`Config`]: a `STEWARD_*` variable whose first
/// part names none of them (Kubernetes' `STEWARD_PORT=tcp://…`, a script's
/// `STEWARD_BIN`) is not configuration and is left alone. A unit test keeps
/// this list equal to the struct's fields.
const SECTIONS: &[&str] = &[
    "data_dir",
    "store",
    "http",
    "log",
    "telegram",
    "discord",
    "llm",
    "reasoning",
    "embedding",
    "qdrant",
    "orchestrator",
    "adapters",
    "notify",
    "policy",
    "approvals",
    "memory",
    "email",
    "dns",
    "schedules",
    "workflows",
    "secrets",
    "secret_files",
];

/// Whether an environment key (after `STEWARD_`, split at `__`) names a
/// config section; the ones that do not are logged and left alone.
fn names_a_section(key: &str) -> bool {
    let first = key.split('.').next().unwrap_or_default();
    let known = SECTIONS.iter().any(|s| s.eq_ignore_ascii_case(first));
    if !known {
        tracing::debug!(variable = %format!("STEWARD_{}", key.to_ascii_uppercase().replace('.', "__")), "not a config section; ignored");
    }
    known
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite file, the vectors and the model cache live.
    pub data_dir: PathBuf,
    pub store: StoreConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub telegram: TelegramConfig,
    pub discord: DiscordConfig,
    pub llm: LlmConfig,
    pub reasoning: ReasoningConfig,
    pub embedding: EmbeddingConfig,
    pub qdrant: QdrantConfig,
    pub orchestrator: OrchestratorConfig,
    pub adapters: AdaptersConfig,
    pub notify: NotifyConfig,
    pub policy: PolicyConfig,
    pub approvals: ApprovalsConfig,
    pub memory: MemoryConfig,
    pub email: EmailConfig,
    /// Which name servers resolve the hosts steward calls.
    pub dns: DnsConfig,
    /// Scheduled digests (`[[schedules]]`).
    pub schedules: Vec<ScheduleConfig>,
    /// Saved workflows: where their files are.
    pub workflows: WorkflowsConfig,
    /// Named secrets plans may refer to (`{"$secret": NAME}`); best given
    /// as `STEWARD_SECRETS__NAME` or through `secret_files`.
    pub secrets: std::collections::BTreeMap<String, SecretString>,
    /// Named secrets read from files.
    pub secret_files: std::collections::BTreeMap<String, PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            store: StoreConfig::default(),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            telegram: TelegramConfig::default(),
            discord: DiscordConfig::default(),
            llm: LlmConfig::default(),
            reasoning: ReasoningConfig::default(),
            embedding: EmbeddingConfig::default(),
            qdrant: QdrantConfig::default(),
            orchestrator: OrchestratorConfig::default(),
            adapters: AdaptersConfig::default(),
            notify: NotifyConfig::default(),
            policy: PolicyConfig::default(),
            approvals: ApprovalsConfig::default(),
            memory: MemoryConfig::default(),
            email: EmailConfig::default(),
            dns: DnsConfig::default(),
            schedules: vec![],
            workflows: WorkflowsConfig::default(),
            secrets: Default::default(),
            secret_files: Default::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist; create one with `steward init` or drop --config")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("cannot read {key} from {path}: {source}")]
    SecretFile { key: String, path: PathBuf, source: std::io::Error },
}

/// Where the configuration comes from: the CLI's global flags.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// An explicit config file; it must exist.
    pub file: Option<PathBuf>,
    /// `--data-dir`, which overrides every other layer.
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Loads the layers in order and reads secrets from their files.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let file = match &sources.file {
            Some(path) if !path.exists() => return Err(ConfigError::MissingFile(path.clone())),
            Some(path) => Some(path.clone()),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.exists()),
        };
        let mut figment = Figment::new();
        if let Some(file) = &file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment
            .merge(
                Env::prefixed("STEWARD_")
                    .ignore(&["CONFIG", "API_TOKEN", "DATA_DIR"])
                    .split("__")
                    .filter(|k| names_a_section(k.as_str())),
            )
            .merge(Env::raw().only(&["STEWARD_API_TOKEN"]).map(|_| "http.token".into()))
            .merge(Env::raw().only(&["STEWARD_DATA_DIR"]).map(|_| "data_dir".into()));
        if let Some(dir) = &sources.data_dir {
            figment = figment.merge(Serialized::default("data_dir", dir));
        }
        let mut config: Config = figment.extract().map_err(|e| ConfigError::Invalid(describe(e)))?;
        config.resolve_secrets()?;
        Ok(config)
    }

    /// The configuration as if no file and no environment existed.
    pub fn defaults_in(data_dir: &Path) -> Self {
        Self { data_dir: data_dir.to_owned(), ..Self::default() }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("steward.db")
    }

    fn resolve_secrets(&mut self) -> Result<(), ConfigError> {
        secret::resolve("http.token", &mut self.http.token, &self.http.token_file)?;
        secret::resolve("telegram.token", &mut self.telegram.token, &self.telegram.token_file)?;
        secret::resolve(
            "telegram.webhook_secret",
            &mut self.telegram.webhook_secret,
            &self.telegram.webhook_secret_file,
        )?;
        secret::resolve("discord.token", &mut self.discord.token, &self.discord.token_file)?;
        secret::resolve("llm.fast.api_key", &mut self.llm.fast.api_key, &self.llm.fast.api_key_file)?;
        secret::resolve("llm.deep.api_key", &mut self.llm.deep.api_key, &self.llm.deep.api_key_file)?;
        secret::resolve("email.password", &mut self.email.password, &self.email.password_file)?;
        secret::resolve("embedding.api_key", &mut self.embedding.api_key, &self.embedding.api_key_file)?;
        secret::resolve("qdrant.api_key", &mut self.qdrant.api_key, &self.qdrant.api_key_file)?;
        for (name, path) in &self.secret_files {
            let mut value = self.secrets.remove(name);
            secret::resolve(&format!("secrets.{name}"), &mut value, &Some(path.clone()))?;
            self.secrets.extend(value.map(|v| (name.clone(), v)));
        }
        for name in self.secrets.keys() {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
            if !ok {
                return Err(ConfigError::Invalid(format!(
                    "`secrets.{name}`: a secret's name is 1 to 64 letters, digits, `_` or `-`"
                )));
            }
        }
        Ok(())
    }
}

/// One line per problem, each naming the key and where its value came from:
/// "`store.durability` in /etc/steward.toml: unknown variant `fast`, ...".
fn describe(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| {
            let key = e.path.join(".").to_lowercase();
            let file = e.metadata.as_ref().and_then(|m| m.source.as_ref()).and_then(|s| s.file_path());
            let origin = match (&e.metadata, file) {
                (_, Some(path)) => format!(" in {}", path.display()),
                (Some(m), None) if m.name.contains("environment") => {
                    let var = e.path.iter().map(|p| p.to_uppercase()).collect::<Vec<_>>().join("__");
                    format!(" from the environment variable STEWARD_{var}")
                }
                (Some(m), None) => format!(" from {}", m.name),
                (None, None) => String::new(),
            };
            if key.is_empty() { format!("{}{origin}", e.kind) } else { format!("`{key}`{origin}: {}", e.kind) }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_to_the_defaults() {
        let parsed: Config = Figment::new().merge(Toml::string(TEMPLATE)).extract().unwrap();
        let defaults = Config::default();
        assert_eq!(parsed.http.addr, defaults.http.addr);
        assert_eq!(parsed.store.durability, defaults.store.durability);
        assert_eq!(parsed.data_dir, defaults.data_dir);
    }

    #[test]
    fn the_sections_list_is_the_struct_s_fields() {
        // serde names every field it expects when it meets one it does not.
        let err = Figment::new().merge(Toml::string("zz_not_a_section = 1")).extract::<Config>().unwrap_err();
        let said = err.to_string();
        let listed = said.split_once("one of ").map_or("", |(_, rest)| rest);
        let expected: Vec<&str> = listed
            .split('`')
            .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect();
        let mut want: Vec<&str> = SECTIONS.to_vec();
        let mut got = expected.clone();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{said}");
    }

    #[test]
    fn a_price_is_an_amount_of_usd() {
        let read = |toml: &str| Figment::new().merge(Toml::string(toml)).extract::<Config>().map_err(|e| e.to_string());
        let ok =
            read("[llm.prices.m]\ninput_per_mtok = 2.5\noutput_per_mtok = 10\ncached_input_per_mtok = 1.25").unwrap();
        let price = ok.llm.prices["m"];
        assert_eq!((price.input_per_mtok, price.cached_input_per_mtok), (2.5, Some(1.25)));
        assert_eq!(
            read("[llm.prices.m]\ninput_per_mtok = 1\noutput_per_mtok = 1").unwrap().llm.prices["m"]
                .cached_input_per_mtok,
            None
        );
        for bad in [
            "input_per_mtok = -1\noutput_per_mtok = 1",
            "input_per_mtok = nan\noutput_per_mtok = 1",
            "input_per_mtok = 1\noutput_per_mtok = inf",
            "input_per_mtok = 1\noutput_per_mtok = 1\ncached_input_per_mtok = -0.5",
        ] {
            let err = read(&format!("[llm.prices.m]\n{bad}")).unwrap_err();
            assert!(err.contains("a price must be a number of USD, 0 or more"), "{bad}: {err}");
        }
    }

    #[test]
    fn secrets_never_print() {
        let mut config = Config::default();
        config.http.token = Some(SecretString::from("hunter2-very-secret"));
        let dump = format!("{config:?}");
        assert!(!dump.contains("hunter2"), "{dump}");
    }
}
