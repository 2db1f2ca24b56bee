//! Embedders turn text into vectors. Three backends: the local MiniLM model
//! (candle), any OpenAI-compatible `/v1/embeddings`, and a deterministic
//! hashing embedder for when no model is available (lexical only).

mod hash;
mod locate;
mod minilm;
pub(crate) mod openai;
mod warming;

use async_trait::async_trait;

pub use hash::HashEmbedder;
pub use locate::{MINILM_FILES, MINILM_REPO, data_dir_cache, find_minilm, model_hint};
pub use minilm::MiniLm;
pub use openai::OpenAiEmbedder;
pub use warming::Warming;

use super::MemoryError;

#[async_trait]
pub trait Embedder: Send + Sync {
    /// A short name for logs, stats and benchmarks.
    fn name(&self) -> &str;
    fn dims(&self) -> usize;
    /// One unit-length vector per text, in order.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, MemoryError>;
    /// Whether it is still loading (`embed` would wait for it).
    fn warming(&self) -> bool {
        false
    }
    /// Resolves once it is loaded (at once for one that needs no loading).
    async fn warmed(&self) -> Result<(), MemoryError> {
        Ok(())
    }
}

/// Scales a vector to unit length, so cosine similarity is a dot product.
pub(crate) fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}
