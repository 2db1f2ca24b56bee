//! Choosing the embedder and the vector index from the configuration.

use std::sync::Arc;

use secrecy::ExposeSecret;

use super::embed::{self, Embedder, HashEmbedder, MiniLm, OpenAiEmbedder};
use super::index::{self, EdgeIndex, ServerIndex, ServerSettings, VectorIndex};
use super::{Memory, MemoryError};
use crate::config::{Config, EmbeddingBackend, QdrantMode};
use crate::store::Store;

fn embedder(config: &Config) -> Result<Arc<dyn Embedder>, MemoryError> {
    let e = &config.embedding;
    match e.backend {
        EmbeddingBackend::Hash => {
            tracing::warn!("embedding backend is `hash`: memory search is LEXICAL ONLY (no semantic matching)");
            Ok(Arc::new(HashEmbedder::new(e.dimensions)))
        }
        EmbeddingBackend::Openai => {
            let (Some(base), Some(model)) = (&e.base_url, &e.model) else {
                return Err(MemoryError::Invalid(
                    "embedding.backend = \"openai\" needs embedding.base_url and embedding.model".into(),
                ));
            };
            let key = e.api_key.as_ref().map(|k| k.expose_secret().to_owned());
            Ok(Arc::new(OpenAiEmbedder::new(base, key.as_deref(), model, e.dimensions)))
        }
        EmbeddingBackend::Minilm => match embed::find_minilm(e.model_dir.as_deref(), &config.data_dir) {
            // Loaded in the background: steward listens at once.
            Some(dir) => {
                tracing::info!(dir = %dir.display(), "loading all-MiniLM-L6-v2");
                let load = move || MiniLm::load(&dir).map(|m| Arc::new(m) as Arc<dyn Embedder>);
                Ok(Arc::new(embed::Warming::start("minilm", MiniLm::DIMS, load)))
            }
            None if e.model_dir.is_some() => Err(MemoryError::Invalid(format!(
                "embedding.model_dir {} does not hold the model; {}",
                e.model_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default(),
                embed::model_hint()
            ))),
            None => {
                tracing::warn!(
                    hint = embed::model_hint(),
                    "all-MiniLM-L6-v2 not found: memory search is LEXICAL ONLY (hash embedder)"
                );
                Ok(Arc::new(HashEmbedder::new(384)))
            }
        },
    }
}

/// Where the Qdrant server is and how steward uses it (`qdrant.*`).
pub fn server_settings(config: &Config) -> Result<ServerSettings, MemoryError> {
    let q = &config.qdrant;
    let url = q.url.clone().ok_or_else(|| MemoryError::Invalid("qdrant.mode = \"server\" needs qdrant.url".into()))?;
    for (key, value) in [
        ("shard_number", q.shard_number),
        ("replication_factor", q.replication_factor),
        ("write_consistency_factor", q.write_consistency_factor),
    ] {
        if value.is_some_and(|n| !(1..=64).contains(&n)) {
            return Err(MemoryError::Invalid(format!("qdrant.{key} must be between 1 and 64")));
        }
    }
    Ok(ServerSettings {
        url,
        api_key: q.api_key.as_ref().map(|k| k.expose_secret().to_owned()),
        alias: index::workspace_alias(&config.data_dir, q.collection.as_deref())?,
        shard_number: q.shard_number,
        replication_factor: q.replication_factor,
        write_consistency_factor: q.write_consistency_factor,
    })
}

/// The memory service for this configuration.
pub async fn build(config: &Config, store: &Store) -> Result<Memory, MemoryError> {
    let embedder = embedder(config)?;
    let index: Arc<dyn VectorIndex> = match config.qdrant.mode {
        QdrantMode::Edge => Arc::new(EdgeIndex::open(&config.data_dir.join("vectors"), embedder.dims())?),
        QdrantMode::Server => Arc::new(ServerIndex::new(server_settings(config)?, embedder.dims())?),
    };
    let budget = std::time::Duration::from_millis(config.memory.search_budget_ms.max(1));
    config.memory.fusion.check().map_err(MemoryError::Invalid)?;
    Ok(Memory::new(store.clone(), embedder, index, config.memory.time_weight)
        .with_search_budget(budget)
        .with_fusion(config.memory.fusion))
}
