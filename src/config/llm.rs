//! The models of the reasoning tiers (`[llm]`) and the tiers' knobs
//! (`[reasoning]`).

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

/// One reasoning tier's model: any OpenAI-compatible endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierConfig {
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub api_key: Option<SecretString>,
    pub api_key_file: Option<PathBuf>,
    pub timeout_secs: u64,
    pub max_tokens: u32,
    /// Which request field carries `max_tokens`: servers differ.
    pub max_tokens_field: MaxTokensField,
    /// How well-formed output is asked for: servers differ.
    pub response_format: OutputFormat,
    pub temperature: f32,
}

/// What a request asks of the shape of the model's output. Whatever is
/// asked, the answer is still parsed strictly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// `{"type": "json_object"}`: any JSON object (OpenAI's JSON mode;
    /// most servers honour it).
    #[default]
    JsonObject,
    /// `{"type": "json_schema"}` with the schema of the role's answer:
    /// servers with structured outputs or grammars (OpenAI, llama.cpp's
    /// server, which turns it into a grammar, Ollama, vLLM) can only
    /// generate answers of that shape, which small models need. A role
    /// steward has no schema for is asked for a JSON object.
    JsonSchema,
    /// No `response_format`, for servers that refuse the field.
    None,
}

/// The request field a model's output cap goes in. llama.cpp's server,
/// Ollama and vLLM honour `max_tokens`; OpenAI's reasoning models accept
/// only `max_completion_tokens`; most servers take both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxTokensField {
    /// Both fields, with the same value: every common server honours one.
    #[default]
    Both,
    MaxTokens,
    MaxCompletionTokens,
}

impl Default for TierConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            model: None,
            api_key: None,
            api_key_file: None,
            timeout_secs: 60,
            max_tokens: 1024,
            max_tokens_field: MaxTokensField::Both,
            response_format: OutputFormat::JsonObject,
            temperature: 0.0,
        }
    }
}

impl TierConfig {
    /// A tier is usable only with both an endpoint and a model.
    pub fn is_configured(&self) -> bool {
        self.base_url.is_some() && self.model.is_some()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// Tier 2: a small, fast model.
    pub fast: TierConfig,
    /// Tier 3: a strong planning model.
    pub deep: TierConfig,
    /// What each model costs, by model name, in USD per million tokens. A
    /// model missing here is recorded at zero cost and `doctor` warns.
    pub prices: std::collections::BTreeMap<String, Price>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    #[serde(deserialize_with = "usd")]
    pub input_per_mtok: f64,
    #[serde(deserialize_with = "usd")]
    pub output_per_mtok: f64,
    /// Prompt tokens the provider served from its prompt cache (OpenAI
    /// bills them at a fraction of the input price); the input price when
    /// unset.
    #[serde(default, deserialize_with = "some_usd")]
    pub cached_input_per_mtok: Option<f64>,
}

/// A price: a finite amount, not below zero (a ledger that sums `nan` or a
/// negative price hides spend from the daily budget).
fn usd<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!("a price must be a number of USD, 0 or more (got {v})")))
    }
}

fn some_usd<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    usd(d).map(Some)
}

/// The reasoning tiers' knobs. Thresholds are cosine similarities (tier 1)
/// or the model's own confidence (tier 2), all between 0 and 1.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReasoningConfig {
    /// A directory of role files (`*.md`) and `intents.toml` that replaces
    /// the built-in ones.
    pub prompts_dir: Option<PathBuf>,
    /// How near a request must be to an example phrase to be routed.
    pub route_threshold: f32,
    /// How near the best memory record must be to answer from it alone.
    pub answer_threshold: f32,
    /// Below this confidence the fast model's result goes to the planner.
    pub escalate_below: f32,
    /// How near a question must be to a cached one to reuse its answer.
    pub cache_similarity: f32,
    pub cache_ttl_secs: u64,
    /// Also ask the qa role (fast model) to review each plan.
    pub qa_review: bool,
    /// Messages a minute each identity that is not the operator may send
    /// (collaborators, bridged identities); past it, one polite refusal.
    /// 0 turns the limit off.
    pub messages_per_minute: u32,
}

impl Default for ReasoningConfig {
    fn default() -> Self {
        Self {
            prompts_dir: None,
            route_threshold: 0.68,
            answer_threshold: 0.55,
            escalate_below: 0.6,
            cache_similarity: 0.95,
            cache_ttl_secs: 3600,
            qa_review: false,
            messages_per_minute: 20,
        }
    }
}
