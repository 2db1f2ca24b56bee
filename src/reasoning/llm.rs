//! The model client: async-openai's chat completion types against any
//! OpenAI-compatible endpoint, one per tier, with its own base URL, model,
//! key, timeout, max tokens and temperature. 429 and 5xx are retried with
//! growing pauses (a `Retry-After` honoured), never past the role's
//! timeout, which bounds the whole call. The answer is read up to
//! [`MAX_ANSWER_BYTES`]: a server that sends more is refused, not read.
//! Structured output is parsed strictly: prose around the JSON, truncated
//! JSON and wrong types are failures to count, never panics.

use std::time::{Duration, Instant};

use async_openai::types::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest, CreateChatCompletionResponse, FinishReason, ResponseFormat, ResponseFormatJsonSchema,
};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use super::roles::ModelTier;
use crate::adapters::read_limited;
use crate::config::{MaxTokensField, OutputFormat, Price, TierConfig};
use crate::domain::parse_retry_after;
use crate::store::now_millis;

/// The most of a model's answer that is read. A chat completion of the
/// sizes steward asks for is a few kilobytes; this leaves room for servers
/// that echo the prompt or add logprobs.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// One tier's model.
pub struct Model {
    pub tier: ModelTier,
    pub name: String,
    http: reqwest::Client,
    /// `BASE_URL/chat/completions`.
    url: String,
    key: Option<SecretString>,
    max_tokens: u32,
    max_tokens_field: MaxTokensField,
    output: OutputFormat,
    temperature: f32,
    price: Price,
}

/// What one call returned.
#[derive(Debug, Clone)]
pub struct Completion {
    pub text: String,
    pub tokens_in: u32,
    /// Of `tokens_in`, those the server served from its prompt cache.
    pub tokens_cached: u32,
    pub tokens_out: u32,
    /// The token counts are steward's estimates: the server reported none.
    pub estimated: bool,
    /// The model stopped at `max_tokens`: whatever JSON it wrote is cut off.
    pub truncated: bool,
}

/// Why a call gave nothing usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("no answer within {0} s")]
    Timeout(u64),
    #[error("{0}")]
    Http(String),
    /// The server answered, but not with a chat completion.
    #[error("the server's answer is not a chat completion: {0}")]
    Garbage(String),
}

impl CallError {
    /// The ledger's name for it.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Http(_) => "http_error",
            Self::Garbage(_) => "invalid_output",
        }
    }
}

impl Model {
    /// The model of a tier, if the tier is configured.
    pub fn new(
        tier: ModelTier,
        config: &TierConfig,
        prices: &std::collections::BTreeMap<String, Price>,
    ) -> Option<Self> {
        let (Some(base_url), Some(name)) = (&config.base_url, &config.model) else {
            return None;
        };
        let timeout = Duration::from_secs(config.timeout_secs.max(1));
        let http = reqwest::Client::builder().timeout(timeout).build().ok()?;
        Some(Self {
            tier,
            name: name.clone(),
            http,
            url: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            key: config.api_key.clone(),
            max_tokens: config.max_tokens,
            max_tokens_field: config.max_tokens_field,
            output: config.response_format,
            temperature: config.temperature,
            price: prices.get(name).copied().unwrap_or_default(),
        })
    }

    /// The most output tokens one call may bill.
    pub fn max_tokens(&self) -> u32 {
        self.max_tokens
    }

    /// What a call with these token counts costs, in USD: `cached` of the
    /// `tokens_in` at the cached-input price (the input price when none is
    /// set).
    pub fn cost(&self, tokens_in: u32, cached: u32, tokens_out: u32) -> f64 {
        let cached = cached.min(tokens_in);
        let cached_price = self.price.cached_input_per_mtok.unwrap_or(self.price.input_per_mtok);
        (f64::from(tokens_in - cached) * self.price.input_per_mtok
            + f64::from(cached) * cached_price
            + f64::from(tokens_out) * self.price.output_per_mtok)
            / 1e6
    }

    /// What the request asks of the output's shape: `schema` is the role's
    /// answer (named `name`), used when the tier asks for schemas.
    fn response_format(&self, name: &str, schema: Option<serde_json::Value>) -> Option<ResponseFormat> {
        match (self.output, schema) {
            (OutputFormat::None, _) => None,
            (OutputFormat::JsonSchema, Some(schema)) => Some(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: None,
                    name: name.to_owned(),
                    schema: Some(schema),
                    // Strict mode (OpenAI) forbids free-form objects such
                    // as a step's args; grammar servers constrain anyway.
                    strict: None,
                },
            }),
            (OutputFormat::JsonObject | OutputFormat::JsonSchema, _) => Some(ResponseFormat::JsonObject),
        }
    }

    /// One chat completion: the role's prompt as system message, the request
    /// (with its context) as user message, JSON output asked for, of the
    /// role's shape when the tier asks for schemas.
    pub async fn complete(&self, role: &str, system: &str, user: &str, sla: Duration) -> Result<Completion, CallError> {
        let cap = Some(self.max_tokens);
        let (legacy, current) = match self.max_tokens_field {
            MaxTokensField::Both => (cap, cap),
            MaxTokensField::MaxTokens => (cap, None),
            MaxTokensField::MaxCompletionTokens => (None, cap),
        };
        // `max_tokens` is deprecated by OpenAI, and it is the field
        // llama.cpp's server, Ollama and vLLM honour.
        #[allow(deprecated)]
        let request = CreateChatCompletionRequest {
            model: self.name.clone(),
            messages: vec![
                ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage::from(system)),
                ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage::from(user)),
            ],
            max_tokens: legacy,
            max_completion_tokens: current,
            temperature: Some(self.temperature),
            response_format: self.response_format(role, super::shape::of(role)),
            ..Default::default()
        };
        let response = match tokio::time::timeout(sla, self.post(&request, sla)).await {
            Err(_) => return Err(CallError::Timeout(sla.as_secs())),
            Ok(r) => r?,
        };
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(CallError::Garbage("no choices".into()));
        };
        let text = choice.message.content.unwrap_or_default();
        let (tokens_in, tokens_cached, tokens_out, estimated) = match response.usage {
            Some(u) => {
                let cached = u.prompt_tokens_details.and_then(|d| d.cached_tokens).unwrap_or(0);
                (u.prompt_tokens, cached.min(u.prompt_tokens), u.completion_tokens, false)
            }
            // Servers that do not count get an estimate: ~4 characters a token.
            None => (estimate_tokens(system) + estimate_tokens(user), 0, estimate_tokens(&text), true),
        };
        let truncated = choice.finish_reason == Some(FinishReason::Length);
        Ok(Completion { text, tokens_in, tokens_cached, tokens_out, estimated, truncated })
    }
}

impl Model {
    /// Posts the request; 429 and 5xx are tried again after a pause that
    /// grows (or the one the server asks for), while the pause still ends
    /// within `sla`.
    async fn post(
        &self,
        request: &CreateChatCompletionRequest,
        sla: Duration,
    ) -> Result<CreateChatCompletionResponse, CallError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(200);
        loop {
            let mut req = self.http.post(&self.url).json(request);
            if let Some(key) = &self.key {
                req = req.bearer_auth(key.expose_secret());
            }
            let r = match req.send().await {
                Ok(r) => r,
                Err(e) if e.is_timeout() => return Err(CallError::Timeout(sla.as_secs())),
                Err(e) => return Err(CallError::Http(e.without_url().to_string())),
            };
            let status = r.status();
            if status.as_u16() == 429 || status.is_server_error() {
                let asked = r.headers().get("retry-after").and_then(|v| v.to_str().ok());
                let wait = asked.and_then(|v| parse_retry_after(v, now_millis())).unwrap_or(pause);
                if started.elapsed() + wait >= sla {
                    return Err(CallError::Http(format!("HTTP {status}, and no time left to try again")));
                }
                tokio::time::sleep(wait).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
            let (body, cut) = read_limited(r, MAX_ANSWER_BYTES).await;
            if cut {
                return Err(CallError::Garbage(format!(
                    "the answer is larger than {} MiB; it was not read",
                    MAX_ANSWER_BYTES >> 20
                )));
            }
            if !status.is_success() {
                let said: String = String::from_utf8_lossy(&body).chars().take(300).collect();
                return Err(CallError::Http(format!("HTTP {status}: {said}")));
            }
            return serde_json::from_slice(&body).map_err(|e| CallError::Garbage(e.to_string()));
        }
    }
}

pub fn estimate_tokens(text: &str) -> u32 {
    (text.chars().count() as u32).div_ceil(4)
}

/// Parses a model's answer as exactly one JSON value of type `T`. A single
/// Markdown code fence around it is tolerated (models add them even when
/// told not to); any other text before or after is not.
pub fn parse_strict<T: DeserializeOwned>(completion: &Completion) -> Result<T, String> {
    if completion.truncated {
        return Err("the answer was cut off at max_tokens".into());
    }
    let mut text = completion.text.trim();
    if let Some(fenced) = text.strip_prefix("```") {
        let body = fenced.strip_suffix("```").ok_or("an unclosed code fence")?;
        // Drop the fence's language tag line (```json).
        text = body.split_once('\n').map_or("", |(_, rest)| rest).trim();
    }
    if text.is_empty() {
        return Err("an empty answer".into());
    }
    serde_json::from_str(text).map_err(|e| {
        let what = if e.is_eof() { "truncated JSON" } else { "not the JSON asked for" };
        format!("{what}: {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Out {
        answer: String,
        confidence: f32,
    }

    fn c(text: &str) -> Completion {
        Completion {
            text: text.into(),
            tokens_in: 1,
            tokens_cached: 0,
            tokens_out: 1,
            estimated: false,
            truncated: false,
        }
    }

    #[test]
    fn strict_parsing_takes_json_alone_or_fenced() {
        let want = Out { answer: "x".into(), confidence: 0.5 };
        assert_eq!(parse_strict::<Out>(&c(r#" {"answer":"x","confidence":0.5} "#)).unwrap(), want);
        assert_eq!(parse_strict::<Out>(&c("```json\n{\"answer\":\"x\",\"confidence\":0.5}\n```")).unwrap(), want);
    }

    #[test]
    fn prose_truncation_and_wrong_types_are_refused() {
        for (text, why) in [
            (r#"Sure! {"answer":"x","confidence":0.5}"#, "not the JSON"),
            (r#"{"answer":"x","confidence":0.5} Hope this helps."#, "not the JSON"),
            (r#"{"answer":"x","confid"#, "truncated"),
            (r#"{"answer":"x","confidence":"high"}"#, "not the JSON"),
            ("", "empty"),
            ("```json\n{\"answer\":\"x\"", "unclosed"),
        ] {
            let err = parse_strict::<Out>(&c(text)).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
        let cut = Completion { truncated: true, ..c(r#"{"answer":"x","confidence":0.5}"#) };
        assert!(parse_strict::<Out>(&cut).unwrap_err().contains("cut off"));
    }
}
