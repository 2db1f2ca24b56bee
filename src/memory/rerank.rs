//! What hybrid search does with the fused ranking before it answers: a
//! message said by someone the question names counts for more, the turns
//! around a found message may gain a share of its score
//! (`memory.fusion.neighbour`, off by default), and the same words said
//! again take no second place.

use std::collections::{HashMap, HashSet};

use super::Contract;
use super::search::{Hit, Scores};
use crate::domain::{MemoryKind, Scope};
use crate::store::StoreError;
use crate::store::memory::{self as rows, content_words, words};

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

/// How many of the best hits lend their neighbours a share.
const LENDERS: usize = 10;

/// Lifts the messages said just before and just after each of the best
/// messages, in the same conversation, by `weight` of that message's fused
/// score (the most any one lends them): an answer is often spread over a
/// turn and the next. A neighbour not found by either retriever joins the
/// hits, if the reader may read it.
pub async fn neighbours(
    pool: &sqlx::SqlitePool,
    hits: &mut Vec<Hit>,
    weight: f64,
    reader: &Contract,
    scopes: &[Scope],
) -> Result<(), StoreError> {
    if weight <= 0.0 {
        return Ok(());
    }
    let mut best: Vec<(f64, String)> = hits.iter().map(|h| (h.scores.fused, h.id.clone())).collect();
    best.sort_by(|a, b| b.0.total_cmp(&a.0));
    best.truncate(LENDERS);
    let lent: HashMap<String, f64> = best.iter().map(|(f, id)| (id.clone(), *f)).collect();
    let ids: Vec<String> = best.into_iter().map(|(_, id)| id).collect();
    let mut gains: HashMap<String, f64> = HashMap::new();
    for (from, to) in rows::neighbours(pool, &ids).await? {
        let gain = weight * lent.get(&from).copied().unwrap_or(0.0);
        let g = gains.entry(to).or_default();
        *g = g.max(gain);
    }
    for h in hits.iter_mut() {
        if let Some(g) = gains.remove(&h.id) {
            h.scores.fused += g;
        }
    }
    let new: Vec<String> = gains.keys().cloned().collect();
    for r in rows::get_many(pool, &new).await? {
        if reader.can_read(&r.scope) && scopes.contains(&r.scope) {
            let fused = gains.get(&r.id).copied().unwrap_or(0.0);
            hits.push(Hit::of(r, Scores { fused, ..Default::default() }));
        }
    }
    Ok(())
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

    /// The turns just before and after a found message, in its
    /// conversation only, gain a share of its score (joining the hits when
    /// neither retriever found them); a weight of 0 changes nothing.
    #[tokio::test]
    async fn a_found_messages_neighbours_in_its_conversation_gain_a_share() {
        use crate::domain::NewMemory;
        let store = crate::store::Store::in_memory().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let mut ids = Vec::new();
        for (i, (scope, text)) in
            [("conv:a", "before"), ("conv:b", "elsewhere"), ("conv:a", "found"), ("conv:a", "after")].iter().enumerate()
        {
            let p = MemoryProvenance { actor: "Sam".into(), channel: "import".into(), ..Default::default() };
            let m = NewMemory::new(MemoryKind::Statement, text, Scope::parse(scope).unwrap(), p, i as i64).unwrap();
            ids.push(rows::record(&mut tx, &m).await.unwrap().id);
        }
        tx.commit().await.unwrap();
        let found = rows::get_many(store.reader(), std::slice::from_ref(&ids[2])).await.unwrap().remove(0);
        let mut hits = vec![Hit::of(found, Scores { fused: 1.0, ..Default::default() })];
        let reader = Contract::operator();
        let scopes = [Scope::parse("conv:a").unwrap(), Scope::parse("conv:b").unwrap()];
        neighbours(store.reader(), &mut hits, 0.0, &reader, &scopes).await.unwrap();
        assert_eq!(hits.len(), 1, "a weight of 0 changes nothing");
        neighbours(store.reader(), &mut hits, 0.25, &reader, &scopes).await.unwrap();
        let mut got: Vec<(&str, f64)> = hits.iter().map(|h| (h.text.as_str(), h.scores.fused)).collect();
        got.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(got, vec![("after", 0.25), ("before", 0.25), ("found", 1.0)]);
        // A reader who may not read the conversation gets nothing from it.
        let mut hits = vec![hits.into_iter().find(|h| h.text == "found").unwrap()];
        let outsider = Contract { read: vec!["conv:b".into()], write: vec![] };
        neighbours(store.reader(), &mut hits, 0.25, &outsider, &scopes[1..]).await.unwrap();
        assert_eq!(hits.len(), 1);
    }
}
