//! The model client: async-openai against any OpenAI-compatible endpoint,
//! one per tier, with its own base URL, model, key, timeout, max tokens and
//! temperature. 429 and 5xx are retried with exponential backoff (the
//! library's, bounded here); a role's timeout bounds the whole call.
//! Structured output is parsed strictly: prose around the JSON, truncated
//! JSON and wrong types are failures to count, never panics.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest, FinishReason, ResponseFormat,
};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use super::roles::ModelTier;
use crate::config::{Price, TierConfig};
use crate::memory::embed::openai::endpoint;

/// One tier's model.
pub struct Model {
    pub tier: ModelTier,
    pub name: String,
    client: Client<OpenAIConfig>,
    max_tokens: u32,
    temperature: f32,
    price: Price,
}

/// What one call returned.
#[derive(Debug, Clone)]
pub struct Completion {
    pub text: String,
    pub tokens_in: u32,
    pub tokens_out: u32,
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
        // 429 and 5xx: retry with growing pauses, but never past the timeout.
        let backoff = backoff::ExponentialBackoff {
            initial_interval: Duration::from_millis(200),
            max_interval: Duration::from_secs(5),
            max_elapsed_time: Some(timeout),
            ..Default::default()
        };
        let key = config.api_key.as_ref().map(|k| k.expose_secret().to_owned());
        let client =
            Client::with_config(endpoint(base_url, key.as_deref())).with_http_client(http).with_backoff(backoff);
        Some(Self {
            tier,
            name: name.clone(),
            client,
            max_tokens: config.max_tokens,
            temperature: config.temperature,
            price: prices.get(name).copied().unwrap_or_default(),
        })
    }

    /// What a call with these token counts costs, in USD.
    pub fn cost(&self, tokens_in: u32, tokens_out: u32) -> f64 {
        (f64::from(tokens_in) * self.price.input_per_mtok + f64::from(tokens_out) * self.price.output_per_mtok) / 1e6
    }

    /// One chat completion: the role's prompt as system message, the request
    /// (with its context) as user message, JSON output asked for.
    pub async fn complete(&self, system: &str, user: &str, sla: Duration) -> Result<Completion, CallError> {
        let request = CreateChatCompletionRequest {
            model: self.name.clone(),
            messages: vec![
                ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage::from(system)),
                ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage::from(user)),
            ],
            max_completion_tokens: Some(self.max_tokens),
            temperature: Some(self.temperature),
            response_format: Some(ResponseFormat::JsonObject),
            ..Default::default()
        };
        let response = match tokio::time::timeout(sla, self.client.chat().create(request)).await {
            Err(_) => return Err(CallError::Timeout(sla.as_secs())),
            Ok(Err(OpenAIError::Reqwest(e))) if e.is_timeout() => return Err(CallError::Timeout(sla.as_secs())),
            Ok(Err(OpenAIError::JSONDeserialize(e, _))) => return Err(CallError::Garbage(e.to_string())),
            Ok(Err(OpenAIError::Reqwest(e))) => return Err(CallError::Http(e.without_url().to_string())),
            Ok(Err(e)) => return Err(CallError::Http(e.to_string())),
            Ok(Ok(r)) => r,
        };
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(CallError::Garbage("no choices".into()));
        };
        let text = choice.message.content.unwrap_or_default();
        let (tokens_in, tokens_out) = match response.usage {
            Some(u) => (u.prompt_tokens, u.completion_tokens),
            // Servers that do not count get an estimate: ~4 characters a token.
            None => (estimate_tokens(system) + estimate_tokens(user), estimate_tokens(&text)),
        };
        Ok(Completion { text, tokens_in, tokens_out, truncated: choice.finish_reason == Some(FinishReason::Length) })
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
        Completion { text: text.into(), tokens_in: 1, tokens_out: 1, truncated: false }
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
