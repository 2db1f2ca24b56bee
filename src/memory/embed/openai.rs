//! Any OpenAI-compatible `/v1/embeddings` endpoint, through async-openai.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::{CreateEmbeddingRequest, EmbeddingInput};
use async_trait::async_trait;

use super::{Embedder, normalize};
use crate::memory::MemoryError;

pub struct OpenAiEmbedder {
    client: Client<OpenAIConfig>,
    model: String,
    dims: usize,
}

impl OpenAiEmbedder {
    pub fn new(base_url: &str, api_key: Option<&str>, model: &str, dims: usize) -> Self {
        Self { client: Client::with_config(endpoint(base_url, api_key)), model: model.to_owned(), dims }
    }
}

/// An OpenAI-compatible endpoint's settings: its base URL, and its key when
/// it needs one (local servers often do not).
pub(crate) fn endpoint(base_url: &str, api_key: Option<&str>) -> OpenAIConfig {
    let config = OpenAIConfig::new().with_api_base(base_url.trim_end_matches('/'));
    match api_key {
        Some(key) => config.with_api_key(key),
        None => config,
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn name(&self) -> &str {
        "openai"
    }
    fn dims(&self) -> usize {
        self.dims
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, MemoryError> {
        if texts.is_empty() {
            return Ok(vec![]);
        }
        let request = CreateEmbeddingRequest {
            model: self.model.clone(),
            input: EmbeddingInput::StringArray(texts.to_vec()),
            dimensions: Some(self.dims as u32),
            ..Default::default()
        };
        let response =
            self.client.embeddings().create(request).await.map_err(|e| MemoryError::Embedding(e.to_string()))?;
        let mut out = vec![Vec::new(); texts.len()];
        for item in response.data {
            let mut v = item.embedding;
            if v.len() != self.dims {
                return Err(MemoryError::Embedding(format!(
                    "the server returned {} dimensions, not {}",
                    v.len(),
                    self.dims
                )));
            }
            normalize(&mut v);
            if let Some(slot) = out.get_mut(item.index as usize) {
                *slot = v;
            }
        }
        if out.iter().any(Vec::is_empty) {
            return Err(MemoryError::Embedding("the server returned fewer embeddings than texts".into()));
        }
        Ok(out)
    }
}
