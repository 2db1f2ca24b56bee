//! The vector index's check: where it is, whether steward can use it, and
//! how far it is from the records marked indexed.

use super::{Check, Status, check};
use crate::config::{Config, EmbeddingBackend, QdrantMode};
use crate::memory::index::{ServerIndex, VectorIndex};

/// The size of the embedder's vectors (MiniLM, or its stand-in, is 384).
fn dims(config: &Config) -> usize {
    match config.embedding.backend {
        EmbeddingBackend::Minilm => 384,
        EmbeddingBackend::Hash | EmbeddingBackend::Openai => config.embedding.dimensions,
    }
}

/// How many live records are marked indexed, when there is a database.
async fn indexed(config: &Config) -> Option<i64> {
    let path = config.database_path();
    if !path.exists() {
        return None;
    }
    let store = crate::store::Store::open(&path, &config.store).await.ok()?;
    let n = crate::store::indexing::indexed_count(store.reader()).await.ok();
    store.close().await;
    n
}

pub async fn qdrant(config: &Config) -> Check {
    if config.qdrant.mode == QdrantMode::Edge {
        let detail = format!("embedded, in {}", config.data_dir.join("vectors").display());
        return check("qdrant", Status::Ok, detail, None);
    }
    let settings = match crate::memory::build::server_settings(config) {
        Ok(s) => s,
        Err(e) => {
            return check("qdrant", Status::Error, e.to_string(), Some("set qdrant.url, e.g. http://127.0.0.1:6334"));
        }
    };
    let (url, alias) = (settings.url.clone(), settings.alias.clone());
    let index = match ServerIndex::new(settings, dims(config)) {
        Ok(i) => i,
        Err(e) => return check("qdrant", Status::Error, e.to_string(), Some("fix qdrant.url")),
    };
    let looked = tokio::time::timeout(std::time::Duration::from_secs(5), index.inspect()).await;
    let collection = match looked {
        Err(_) | Ok(Err(_)) => {
            let why = match looked {
                Ok(Err(e)) => e.to_string(),
                _ => "no answer within 5 s".into(),
            };
            return check(
                "qdrant",
                Status::Error,
                format!("cannot use the server at {url}: {why}; meanwhile search answers from words alone"),
                Some("start Qdrant (docker compose up qdrant) or fix qdrant.url; steward catches up when it is back"),
            );
        }
        Ok(Ok(None)) => {
            let detail = format!("server at {url}; the collection for `{alias}` is made on first use");
            return check("qdrant", Status::Ok, detail, None);
        }
        Ok(Ok(Some((_, Some(mismatch))))) => {
            return check("qdrant", Status::Error, mismatch, Some("run `steward memory reindex`"));
        }
        Ok(Ok(Some((collection, None)))) => collection,
    };
    let points = index.count().await.ok();
    let detail = format!("server at {url}, alias `{alias}` → `{collection}`");
    match (indexed(config).await, points) {
        (Some(marked), Some(held)) if marked as usize != held => check(
            "qdrant",
            Status::Warn,
            format!(
                "{detail}: {marked} records are marked indexed and the collection holds {held} points; \
                 the running server compares the two every 5 minutes, embeds what is missing and removes what is left over"
            ),
            Some("wait for the next comparison, or run `steward memory reindex` to rebuild now"),
        ),
        (_, Some(held)) => check("qdrant", Status::Ok, format!("{detail}, {held} points"), None),
        _ => check("qdrant", Status::Ok, detail, None),
    }
}
