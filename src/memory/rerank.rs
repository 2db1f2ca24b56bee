//! What hybrid search does with the fused ranking before it answers: a
//! message said by someone the question names counts for more, and the
//! same words said again take no second place.

use std::collections::HashSet;

use super::search::Hit;
use crate::domain::MemoryKind;
use crate::store::memory::{content_words, words};

/// The speaker a message record names, as the words of their name: only a
/// named speaker ("Priya"), never a channel identity ("telegram:42").
fn speaker(hit: &Hit) -> Option<Vec<String>> {
    let actor = &hit.provenance.actor;
    (MemoryKind::MESSAGES.contains(&hit.kind) && !actor.contains(':') && !actor.trim().is_empty())
        .then(|| content_words(actor))
        .filter(|w| !w.is_empty())
}

/// Adds `weight` (a share of the best fused score) to each message whose
/// speaker the question names by any word of their name: "What is Priya's
/// dog called?" is about what Priya said, not what was said to her.
pub fn named_speakers(hits: &mut [Hit], question: &str, weight: f64) {
    if weight <= 0.0 {
        return;
    }
    let asked: HashSet<String> = words(question).into_iter().collect();
    let best = hits.iter().map(|h| h.scores.fused).fold(0.0, f64::max);
    for h in hits.iter_mut() {
        if speaker(h).is_some_and(|name| name.iter().any(|w| asked.contains(w))) {
            h.scores.fused += weight * best;
        }
    }
}

/// Keeps the best-placed of records that say the same thing (the same
/// words, by the same speaker, in the same scope): "sounds great!" said
/// five times is one thing to read, not five places of ten.
pub fn one_of_each(hits: &mut Vec<Hit>) {
    let mut seen = HashSet::new();
    hits.retain(|h| seen.insert((h.scope.clone(), h.provenance.actor.clone(), words(&h.text))));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MemoryProvenance, Scope};
    use crate::memory::search::Scores;

    fn hit(id: &str, kind: MemoryKind, actor: &str, text: &str, fused: f64) -> Hit {
        Hit {
            id: id.into(),
            text: text.into(),
            kind,
            scope: Scope::parse("conv:a").unwrap(),
            tags: vec![],
            meta: serde_json::Value::Null,
            provenance: MemoryProvenance { actor: actor.into(), ..Default::default() },
            created_at: 0,
            occurred_at: 0,
            archived: false,
            scores: Scores { fused, ..Default::default() },
        }
    }

    #[test]
    fn a_message_by_the_person_named_gains_and_nothing_else_does() {
        let mut hits = vec![
            hit("to", MemoryKind::Statement, "Marcus", "Hey Amara! How have you been?", 1.0),
            hit("by", MemoryKind::Statement, "Amara Okafor", "There's a new risotto place near me.", 0.6),
            hit("note", MemoryKind::Note, "Amara", "Amara's notes", 0.4),
            hit("chan", MemoryKind::Statement, "telegram:42", "amara said hi", 0.4),
        ];
        named_speakers(&mut hits, "Which food does Amara love most?", 0.5);
        let fused: Vec<f64> = hits.iter().map(|h| h.scores.fused).collect();
        assert_eq!(fused, vec![1.0, 1.1, 0.4, 0.4], "only a message whose speaker is named gains, by half the best");
        named_speakers(&mut hits, "Which food does Marcus love most?", 0.0);
        assert_eq!(hits[0].scores.fused, 1.0, "a weight of 0 changes nothing");
    }

    #[test]
    fn the_same_words_by_the_same_speaker_are_kept_once() {
        let mut hits = vec![
            hit("a", MemoryKind::Statement, "Sam", "Work is keeping me busy as always.", 0.9),
            hit("b", MemoryKind::Statement, "Bob", "Work is keeping me busy as always.", 0.8),
            hit("c", MemoryKind::Statement, "Sam", "work is keeping me  busy, as always", 0.7),
            hit("d", MemoryKind::Statement, "Sam", "I've been practising the ukulele.", 0.6),
        ];
        one_of_each(&mut hits);
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "b", "d"], "the best-placed of each is kept, another speaker's words too");
    }
}
