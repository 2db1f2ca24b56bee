//! An embedder that loads in the background: steward listens at once, and
//! the model (a fraction of a second to load, more on a busy machine) is
//! ready soon after. Until then `embed` waits for it, and [`Embedder::warming`]
//! says so, for what must not wait: a memory search then answers from
//! words alone and says why, and `/readyz` says `warming`.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use super::Embedder;
use crate::memory::MemoryError;

/// What loading gave: the embedder, or why it failed.
type Loaded = Option<Result<Arc<dyn Embedder>, String>>;

pub struct Warming {
    name: String,
    dims: usize,
    loaded: watch::Receiver<Loaded>,
}

impl Warming {
    /// Starts `load` on a thread of its own; `name` and `dims` are what the
    /// loaded embedder will say, known before it is.
    pub fn start(
        name: &str,
        dims: usize,
        load: impl FnOnce() -> Result<Arc<dyn Embedder>, MemoryError> + Send + 'static,
    ) -> Self {
        let (tx, rx) = watch::channel(None);
        let started = std::time::Instant::now();
        let what = name.to_owned();
        std::thread::spawn(move || {
            let done = load().map_err(|e| e.to_string());
            match &done {
                Ok(_) => {
                    tracing::info!(model = %what, ms = started.elapsed().as_millis() as u64, "embedding model loaded")
                }
                Err(e) => tracing::error!(model = %what, error = %e, "the embedding model did not load"),
            }
            let _ = tx.send(Some(done));
        });
        Self { name: name.to_owned(), dims, loaded: rx }
    }

    /// The embedder, once loaded (waiting for it until then).
    async fn ready(&self) -> Result<Arc<dyn Embedder>, MemoryError> {
        let mut rx = self.loaded.clone();
        let loaded = rx
            .wait_for(Option::is_some)
            .await
            .map_err(|_| MemoryError::Embedding("the embedding model's loader went away".into()))?;
        match loaded.as_ref() {
            Some(Ok(e)) => Ok(e.clone()),
            Some(Err(why)) => Err(MemoryError::Embedding(why.clone())),
            None => Err(MemoryError::Embedding("the embedding model is not loaded".into())),
        }
    }
}

#[async_trait]
impl Embedder for Warming {
    fn name(&self) -> &str {
        &self.name
    }

    fn dims(&self) -> usize {
        self.dims
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, MemoryError> {
        self.ready().await?.embed(texts).await
    }

    fn warming(&self) -> bool {
        self.loaded.borrow().is_none()
    }

    async fn warmed(&self) -> Result<(), MemoryError> {
        self.ready().await.map(|_| ())
    }
}
