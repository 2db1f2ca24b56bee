//! A deterministic hashing embedder: words and word pairs hashed into a
//! fixed number of signed buckets. Similar vectors mean shared words, so
//! search with it is lexical; it needs no model and never fails.

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::{Embedder, normalize};
use crate::memory::MemoryError;

pub struct HashEmbedder {
    dims: usize,
}

impl HashEmbedder {
    pub fn new(dims: usize) -> Self {
        Self { dims: dims.max(8) }
    }

    fn bucket(&self, feature: &str) -> (usize, f32) {
        let h = Sha256::digest(feature.as_bytes());
        let n = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
        ((n % self.dims as u64) as usize, if h[8] & 1 == 0 { 1.0 } else { -1.0 })
    }

    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let words: Vec<String> =
            text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
        let mut v = vec![0.0f32; self.dims];
        for w in &words {
            let (i, s) = self.bucket(w);
            v[i] += s;
        }
        for pair in words.windows(2) {
            let (i, s) = self.bucket(&format!("{} {}", pair[0], pair[1]));
            v[i] += 0.5 * s;
        }
        normalize(&mut v);
        v
    }
}

#[async_trait]
impl Embedder for HashEmbedder {
    fn name(&self) -> &str {
        "hash"
    }
    fn dims(&self) -> usize {
        self.dims
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, MemoryError> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_same_vector_and_shared_words_are_closer() {
        let e = HashEmbedder::new(384);
        let a = e.embed_one("invoice for ACME in March");
        assert_eq!(a, e.embed_one("invoice for ACME in March"));
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
        let near = e.embed_one("the ACME invoice");
        let far = e.embed_one("holiday schedule for the team");
        assert!(dot(&a, &near) > dot(&a, &far));
        assert!((dot(&a, &a) - 1.0).abs() < 1e-5);
    }
}
