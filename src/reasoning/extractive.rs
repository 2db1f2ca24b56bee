//! When a record answers a question at tier 1, with no model: near enough
//! in meaning, covering enough of the question's words, or put first by
//! word search and vector search alike.

use crate::memory::Hit;
use crate::store::memory as rows;

/// Irregular past forms and their verb: "who did we meet" is answered by
/// "Met Maria", which no shared prefix finds.
const IRREGULAR: [(&str, &str); 40] = [
    ("met", "meet"),
    ("paid", "pay"),
    ("sent", "send"),
    ("said", "say"),
    ("told", "tell"),
    ("bought", "buy"),
    ("made", "make"),
    ("took", "take"),
    ("taken", "take"),
    ("gave", "give"),
    ("given", "give"),
    ("got", "get"),
    ("went", "go"),
    ("gone", "go"),
    ("came", "come"),
    ("left", "leave"),
    ("found", "find"),
    ("spent", "spend"),
    ("kept", "keep"),
    ("held", "hold"),
    ("built", "build"),
    ("brought", "bring"),
    ("thought", "think"),
    ("wrote", "write"),
    ("written", "write"),
    ("spoke", "speak"),
    ("spoken", "speak"),
    ("chose", "choose"),
    ("sold", "sell"),
    ("lost", "lose"),
    ("won", "win"),
    ("ran", "run"),
    ("began", "begin"),
    ("begun", "begin"),
    ("flew", "fly"),
    ("flown", "fly"),
    ("knew", "know"),
    ("saw", "see"),
    ("seen", "see"),
    ("forgot", "forget"),
];

/// A word's verb when it is an irregular past form, else the word.
fn verb(word: &str) -> &str {
    IRREGULAR.iter().find(|(past, _)| *past == word).map_or(word, |(_, base)| base)
}

/// How much of the question a record covers: the share of the question's
/// content words found in it (a shared prefix of five letters counts, so
/// "renew" finds "renewing", and an irregular past form its verb).
pub(super) fn coverage(question: &[String], record: &str) -> f32 {
    if question.is_empty() {
        return 0.0;
    }
    let have = rows::words(record);
    let stem = |w: &str| w.chars().take(5).collect::<String>();
    let same = |q: &str, h: &str| q == h || (q.len() >= 5 && h.len() >= 5 && stem(h) == stem(q)) || verb(q) == verb(h);
    let found = question.iter().filter(|q| have.iter().any(|h| same(q, h))).count();
    found as f32 / question.len() as f32
}

/// How sure tier 1 is that a hit answers the question: its meaning's
/// nearness, or, when the words agree too, the blend of nearness and how
/// much of the question the record covers.
pub(super) fn confidence(question: &[String], hit: &Hit) -> f32 {
    let v = hit.scores.vector.unwrap_or(0.0);
    v.max(0.5 * v + 0.5 * coverage(question, &hit.text)).clamp(0.0, 1.0)
}

/// How much less nearness a record needs when both retrievers put it
/// first: two readings that agree, one by words and one by meaning, are
/// stronger evidence than either alone.
const AGREEMENT: f32 = 0.1;

/// Whether `hit` answers the question at tier 1: confident enough, or
/// ranked first by words and by meaning alike and near enough in meaning
/// for that.
pub(super) fn answers(question: &[String], hit: &Hit, threshold: f32) -> bool {
    let first_by_both = hit.scores.bm25_rank == Some(1) && hit.scores.vector_rank == Some(1);
    confidence(question, hit) >= threshold
        || (first_by_both && hit.scores.vector.unwrap_or(0.0) >= threshold - AGREEMENT)
}

#[cfg(test)]
#[path = "extractive_tests.rs"]
mod tests;
