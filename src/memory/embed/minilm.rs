//! all-MiniLM-L6-v2 on the CPU with candle: 384 dimensions, mean-pooled over
//! the attention mask and normalised, as sentence-transformers does.
//! Texts are sorted by length and embedded in batches (padding to the longest
//! of a batch costs least that way), and capped at `MAX_TOKENS` tokens.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

use super::{Embedder, normalize};
use crate::memory::MemoryError;

/// Longer texts are truncated: MiniLM was trained on 256 word pieces.
const MAX_TOKENS: usize = 256;
const BATCH: usize = 32;

/// Texts' places in what was asked for, each with its vector.
type Embedded = Vec<(usize, Vec<f32>)>;

struct Inner {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

pub struct MiniLm {
    inner: Arc<Inner>,
}

fn model_error(what: &str, e: impl std::fmt::Display) -> MemoryError {
    MemoryError::Embedding(format!("{what}: {e}"))
}

impl MiniLm {
    /// Loads the model from a directory with `model.safetensors`,
    /// `tokenizer.json` and `config.json`.
    /// The size of its vectors.
    pub const DIMS: usize = 384;

    pub fn load(dir: &Path) -> Result<Self, MemoryError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .map_err(|e| model_error(&format!("cannot read {}", dir.join(name).display()), e))
        };
        let config: Config =
            serde_json::from_slice(&read("config.json")?).map_err(|e| model_error("config.json", e))?;
        let mut tokenizer =
            Tokenizer::from_bytes(read("tokenizer.json")?).map_err(|e| model_error("tokenizer.json", e))?;
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(|e| model_error("tokenizer", e))?;
        tokenizer.with_padding(Some(PaddingParams::default()));
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(read("model.safetensors")?, DTYPE, &device)
            .map_err(|e| model_error("model.safetensors", e))?;
        let model = BertModel::load(vb, &config).map_err(|e| model_error("loading the model", e))?;
        Ok(Self { inner: Arc::new(Inner { model, tokenizer, device }) })
    }
}

impl Inner {
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, MemoryError> {
        let err = |e: candle_core::Error| model_error("inference", e);
        let encodings = self.tokenizer.encode_batch(texts.to_vec(), true).map_err(|e| model_error("tokenizing", e))?;
        let n = encodings.first().map_or(0, |e| e.get_ids().len());
        let ids: Vec<u32> = encodings.iter().flat_map(|e| e.get_ids().to_vec()).collect();
        let mask: Vec<u32> = encodings.iter().flat_map(|e| e.get_attention_mask().to_vec()).collect();
        let ids = Tensor::from_vec(ids, (texts.len(), n), &self.device).map_err(err)?;
        let mask = Tensor::from_vec(mask, (texts.len(), n), &self.device).map_err(err)?;
        let types = ids.zeros_like().map_err(err)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask)).map_err(err)?;
        let mask = mask.to_dtype(DType::F32).map_err(err)?.unsqueeze(2).map_err(err)?;
        let summed = hidden.broadcast_mul(&mask).map_err(err)?.sum(1).map_err(err)?;
        let counts = mask.sum(1).map_err(err)?.clamp(1e-9, f64::MAX).map_err(err)?;
        let pooled = summed.broadcast_div(&counts).map_err(err)?;
        let mut rows: Vec<Vec<f32>> = pooled.to_vec2().map_err(err)?;
        rows.iter_mut().for_each(|r| normalize(r));
        Ok(rows)
    }

    /// Takes the next batch not yet taken until none is left; returns
    /// each text's index with its vector.
    fn embed_batches(
        &self,
        batches: &[&[usize]],
        next: &AtomicUsize,
        texts: &[String],
    ) -> Result<Embedded, MemoryError> {
        let mut mine = Vec::new();
        while let Some(chunk) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
            mine.extend(chunk.iter().copied().zip(self.embed_batch(&batch)?));
        }
        Ok(mine)
    }

    /// Embeds texts in batches of similar length, a batch per core at a
    /// time, each worker in a rayon pool of one thread of its own. candle
    /// runs much of a forward pass (layer norms, activations, attention
    /// over short texts) on one core and fans only matrix products out over
    /// the current pool; batches side by side, each kept on its core,
    /// embedded about 1.4 times as many texts a second on 2 cores (71 a
    /// second against 50) as one batch at a time spread over both
    /// (`steward-bench embed --records 2000`).
    fn embed_all(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, MemoryError> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let batches: Vec<&[usize]> = order.chunks(BATCH).collect();
        if batches.len() == 1 {
            // One batch (a query, a few records): on this thread, with its
            // products spread over every core.
            let batch: Vec<&str> = texts.iter().map(String::as_str).collect();
            return self.embed_batch(&batch);
        }
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(batches.len()).max(1);
        let next = AtomicUsize::new(0);
        let done: Vec<Result<Embedded, MemoryError>> = std::thread::scope(|s| {
            let run = || {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .build()
                    .map_err(|e| model_error("starting an embedding worker", e))?;
                pool.install(|| self.embed_batches(&batches, &next, texts))
            };
            let handles: Vec<_> = (0..workers).map(|_| s.spawn(run)).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(model_error("inference", "an embedding thread panicked"))))
                .collect()
        });
        let mut out = vec![Vec::new(); texts.len()];
        for part in done {
            for (i, v) in part? {
                out[i] = v;
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Embedder for MiniLm {
    fn name(&self) -> &str {
        "minilm"
    }
    fn dims(&self) -> usize {
        Self::DIMS
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, MemoryError> {
        if texts.is_empty() {
            return Ok(vec![]);
        }
        let inner = self.inner.clone();
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || inner.embed_all(&texts))
            .await
            .map_err(|e| MemoryError::Embedding(format!("the embedding task failed: {e}")))?
    }
}
