//! The answer cache, for side-effect-free answers only: an exact match on
//! the normalised question (tier 0) and a near match on its embedding
//! (tier 1). Each entry is keyed by who may read it (the reader's scopes),
//! so an answer built from the operator's records is never served to a
//! collaborator, and remembers a digest of the records it cited: when one of
//! them changes or is forgotten, the entry is dropped instead of served.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::Answer;
use super::router::cosine;
use crate::domain::MemoryRecord;

const CAPACITY: usize = 2048;

#[derive(Clone)]
pub struct Entry {
    question: String,
    reader: String,
    vector: Option<Vec<f32>>,
    pub outcome: Answer,
    pub cited: Vec<String>,
    pub digest: String,
    at: Instant,
}

pub struct AnswerCache {
    entries: Mutex<VecDeque<Entry>>,
    ttl: Duration,
    similarity: f32,
}

/// Lower case, single spaces, no trailing punctuation: "When is X due?" and
/// "when is x due" are the same question.
pub fn normalise(text: &str) -> String {
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    words.join(" ").trim_end_matches(['?', '.', '!']).trim().to_owned()
}

/// A digest of the cited records as they are now; missing ones count too.
pub fn digest(cited: &[String], records: &[MemoryRecord]) -> String {
    let mut h = Sha256::new();
    for id in cited {
        h.update(id.as_bytes());
        match records.iter().find(|r| &r.id == id) {
            Some(r) => {
                h.update(r.text.as_bytes());
                h.update(r.archived_at.unwrap_or(0).to_le_bytes());
            }
            None => h.update(b"\0gone"),
        }
    }
    hex::encode(h.finalize())
}

impl AnswerCache {
    pub fn new(ttl: Duration, similarity: f32) -> Self {
        Self { entries: Mutex::new(VecDeque::new()), ttl, similarity }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        // A panic while holding the lock cannot leave an entry half-written
        // (entries are pushed whole), so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The exact entry for this question and reader, or with a vector the
    /// nearest entry at least `similarity` close.
    pub fn find(&self, question: &str, reader: &str, vector: Option<&[f32]>) -> Option<Entry> {
        let mut entries = self.entries();
        let ttl = self.ttl;
        entries.retain(|e| e.at.elapsed() < ttl);
        let question = normalise(question);
        let same_reader = entries.iter().filter(|e| e.reader == reader);
        match vector {
            None => same_reader.filter(|e| e.question == question).last().cloned(),
            Some(v) => same_reader
                .filter_map(|e| e.vector.as_deref().map(|ev| (cosine(v, ev), e)))
                .filter(|(s, _)| *s >= self.similarity)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, e)| e.clone()),
        }
    }

    pub fn insert(&self, question: &str, reader: &str, vector: Option<Vec<f32>>, outcome: Answer, digest: String) {
        let cited = outcome.citations.iter().map(|c| c.id.clone()).collect();
        let mut entries = self.entries();
        if entries.len() >= CAPACITY {
            entries.pop_front();
        }
        let question = normalise(question);
        entries.retain(|e| !(e.question == question && e.reader == reader));
        entries.push_back(Entry {
            question,
            reader: reader.to_owned(),
            vector,
            outcome,
            cited,
            digest,
            at: Instant::now(),
        });
    }

    /// Drops an entry whose cited records changed.
    pub fn invalidate(&self, question: &str, reader: &str) {
        let question = normalise(question);
        self.entries().retain(|e| !(e.question == question && e.reader == reader));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_normalise() {
        assert_eq!(normalise("  When is   INV-2041 due? "), "when is inv-2041 due");
    }
}
