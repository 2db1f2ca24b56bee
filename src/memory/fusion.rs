//! How the two retrievers' rankings become one (`memory.fusion`): the
//! settings, their defaults (chosen on the retrieval suite) and each list's
//! share of a record's fused score.

/// RRF's constant: ranks deep in either list still count, a little.
const RRF_K: f64 = 60.0;

/// What a found message's neighbours gain by default: nothing. On the
/// suite (MiniLM), lending them 0.1 of a found message's score moved hybrid
/// any@10 from 0.911 to 0.909 and all@10 from 0.804 to 0.800; 0.3 took
/// any@10 to 0.877. Its answers are seldom spread over adjacent turns.
const NEIGHBOUR: f64 = 0.0;

/// How deep each retriever's list goes and how much each counts in the
/// fused ranking (`memory.fusion`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fusion {
    pub method: Method,
    /// How many of each retriever's best the fusion sees.
    pub depth: usize,
    /// Each retriever's weight.
    pub lexical: f64,
    pub vector: f64,
    /// What a message gains, as a share of the best fused score, when the
    /// question names the person who said it.
    pub speaker: f64,
    /// What the message just before and just after a found message, in the
    /// same conversation, gain: this share of its fused score.
    pub neighbour: f64,
}

/// How two rankings become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Each record's score in each list, as a share of that list's best,
    /// weighted and summed: records a retriever scores alike (every message
    /// of the person a question names) keep the other retriever's order.
    Scores,
    /// Reciprocal ranks, weighted and summed (RRF, k = 60).
    Ranks,
}

impl Default for Fusion {
    /// Chosen on the retrieval suite (`steward-bench retrieval`).
    fn default() -> Self {
        // On the suite (MiniLM), words at 0.3 of vectors put hybrid above
        // both retrievers at every k; at 0.5 or more, or fused by ranks,
        // words' near-ties (every message of the person a question names)
        // pulled it below vectors. A named speaker's own messages at 0.5
        // of the best: at 0.2 hybrid any@10 rose by 0.05, at 0.5 by 0.06,
        // at 1.0 by 0.06 (on a second suite, generated from another seed,
        // at 0.5 by 0.04).
        Self { method: Method::Scores, depth: 100, lexical: 0.3, vector: 1.0, speaker: 0.5, neighbour: NEIGHBOUR }
    }
}

impl Fusion {
    /// What a record's place in one retriever's list adds to its fused
    /// score: `score` of the list's `best`, or its `rank` from 0.
    pub(super) fn share(&self, weight: f64, score: f64, best: f64, rank: usize) -> f64 {
        match self.method {
            Method::Scores if best > 0.0 => weight * score.max(0.0) / best,
            Method::Scores => 0.0,
            Method::Ranks => weight / (RRF_K + rank as f64 + 1.0),
        }
    }
}

impl Fusion {
    pub fn check(&self) -> Result<(), String> {
        if !(10..=1_000).contains(&self.depth) {
            return Err(format!("memory.fusion.depth = {} must be between 10 and 1000", self.depth));
        }
        let ok = |w: f64| w.is_finite() && (0.0..=10.0).contains(&w);
        if !ok(self.lexical) || !ok(self.vector) || self.lexical + self.vector <= 0.0 {
            return Err("memory.fusion.lexical and .vector must be between 0 and 10, not both 0".into());
        }
        if !(0.0..=1.0).contains(&self.speaker) {
            return Err(format!("memory.fusion.speaker = {} must be between 0 and 1", self.speaker));
        }
        if !(0.0..=1.0).contains(&self.neighbour) {
            return Err(format!("memory.fusion.neighbour = {} must be between 0 and 1", self.neighbour));
        }
        Ok(())
    }
}
