use super::*;
use crate::domain::{MemoryKind, MemoryProvenance, NewMemory, Scope};
use crate::store::{Store, memory};

/// Scoring stems only the words that begin as a term does: that holds
/// only if a stem keeps its word's first two letters (words are split
/// at anything not alphanumeric, so no apostrophe leads one).
#[test]
fn a_stem_keeps_its_words_first_two_letters() {
    use proptest::prelude::*;
    let stemmer = Stemmer::create(Algorithm::English);
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config::with_cases(20_000));
    let words = prop_oneof!["[a-z]{1,14}", "[a-zé0-9]{1,8}", "(y|gen|com|ar)[a-z]{0,8}(ies|ied|ing|ly|y|s)"];
    runner
        .run(&words, |w| {
            let stem = stemmer.stem(&w).into_owned();
            let head: String = stem.chars().take(2).collect();
            prop_assert!(w.starts_with(&head), "{w} -> {stem}");
            Ok(())
        })
        .unwrap();
    for w in ["skies", "news", "gently", "early", "yelling", "yy", "y", "idly", "only"] {
        let stem = stemmer.stem(w).into_owned();
        assert!(w.starts_with(&stem.chars().take(2).collect::<String>()), "{w} -> {stem}");
    }
    // The three the scorer lists.
    for (w, stem) in [("dying", "die"), ("lying", "lie"), ("tying", "tie")] {
        assert_eq!(stemmer.stem(w), stem);
    }
}

/// A word in most records of the scope searched weighs little there,
/// however rare it is in the whole store.
#[tokio::test]
async fn words_weigh_by_how_rare_they_are_in_the_scopes_searched() {
    let store = Store::in_memory().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let add = |text: String, scope: &str| {
        let p = MemoryProvenance { actor: "test".into(), channel: "test".into(), ..Default::default() };
        NewMemory::new(MemoryKind::Note, &text, Scope::parse(scope).unwrap(), p, 0).unwrap()
    };
    for i in 0..20 {
        memory::record(&mut tx, &add(format!("Globex call notes, week {i}"), "client:globex")).await.unwrap();
    }
    memory::record(&mut tx, &add("The invoice was paid three weeks late".into(), "client:globex")).await.unwrap();
    // Elsewhere invoices are everywhere and Globex is never named.
    for i in 0..300 {
        memory::record(&mut tx, &add(format!("Invoice {i} sent"), "operator")).await.unwrap();
    }
    tx.commit().await.unwrap();
    let f = Filter { scopes: vec![Scope::parse("client:globex").unwrap()], ..Default::default() };
    let mut conn = store.reader().acquire().await.unwrap();
    let found = lexical(&mut conn, "Globex invoice", &f, 5).await.unwrap();
    let f = Filter { scopes: vec![Scope::parse("operator").unwrap()], ..Default::default() };
    assert_eq!(lexical(&mut conn, "Globex", &f, 5).await.unwrap(), vec![], "nothing outside the filter");
    drop(conn);
    let best = memory::get_many(store.reader(), std::slice::from_ref(&found[0].0)).await.unwrap();
    assert!(best[0].text.starts_with("The invoice"), "{}", best[0].text);
}

/// Only so many of a common word's matches are scored, yet the record
/// with every word of the question is found however old it is, and so
/// is one with a rare word; records of other scopes and kinds that have
/// every word are never among the results.
#[tokio::test]
async fn the_best_match_is_found_among_thousands_that_share_a_word() {
    let store = Store::in_memory().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let add = |text: String, scope: &str, kind: MemoryKind| {
        let p = MemoryProvenance { actor: "test".into(), channel: "test".into(), ..Default::default() };
        NewMemory::new(kind, &text, Scope::parse(scope).unwrap(), p, 0).unwrap()
    };
    let first = add("Globex signed the renewal in Lisbon".into(), "operator", MemoryKind::Note);
    let first = memory::record(&mut tx, &first).await.unwrap().id;
    for i in 0..3 * PER_WORD {
        for (text, scope) in
            [("Globex weekly sync", "operator"), ("Renewal reminder", "operator"), ("Globex renewal", "team")]
        {
            memory::record(&mut tx, &add(format!("{text} {i}"), scope, MemoryKind::Note)).await.unwrap();
        }
    }
    let draft = add("Globex renewal contract draft".into(), "operator", MemoryKind::Document);
    let draft = memory::record(&mut tx, &draft).await.unwrap().id;
    tx.commit().await.unwrap();
    let operator = Filter { scopes: vec![Scope::parse("operator").unwrap()], ..Default::default() };
    let mut conn = store.reader().acquire().await.unwrap();
    let best = |found: Vec<(String, f64)>| found.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    let found = best(lexical(&mut conn, "globex renewal", &operator, 2).await.unwrap());
    assert_eq!(found, [draft, first.clone()], "the two with both words");
    let found = best(lexical(&mut conn, "Lisbon renewal", &operator, 1).await.unwrap());
    assert_eq!(found, std::slice::from_ref(&first));
    let spanned = Filter { since: Some(0), until: Some(1), ..operator.clone() };
    let found = best(lexical(&mut conn, "Lisbon renewal", &spanned, 1).await.unwrap());
    assert_eq!(found, std::slice::from_ref(&first), "within a time span too");
    let notes = Filter { kinds: vec![MemoryKind::Note], ..operator.clone() };
    let found = best(lexical(&mut conn, "globex renewal", &notes, 1).await.unwrap());
    assert_eq!(found, [first], "the document is not a note");
}

/// The kept counts are the counted ones, whatever was written, changed
/// or deleted.
#[tokio::test]
async fn the_kept_sizes_are_what_counting_finds() {
    let store = Store::in_memory().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let p = MemoryProvenance { actor: "test".into(), channel: "test".into(), ..Default::default() };
    for (i, scope) in ["operator", "client:acme", "operator", "client:acme", "operator"].iter().enumerate() {
        let text = format!("record number {i} {}", "x".repeat(i * 7));
        let kind = if i % 2 == 0 { MemoryKind::Note } else { MemoryKind::Document };
        memory::record(&mut tx, &NewMemory::new(kind, &text, Scope::parse(scope).unwrap(), p.clone(), 0).unwrap())
            .await
            .unwrap();
    }
    sqlx::query("UPDATE memory SET text = 'rewritten, longer than before' WHERE rowid = 2")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE memory SET scope = 'operator', kind = 'note' WHERE rowid = 4").execute(&mut *tx).await.unwrap();
    sqlx::query("DELETE FROM memory WHERE rowid = 3").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.reader().acquire().await.unwrap();
    for scopes in [vec!["operator"], vec!["client:acme"], vec!["operator", "client:acme"]] {
        for kinds in [vec![], vec![MemoryKind::Note]] {
            let scopes: Vec<Scope> = scopes.iter().map(|s| Scope::parse(s).unwrap()).collect();
            let kept = Filter { scopes: scopes.clone(), kinds: kinds.clone(), ..Default::default() };
            // A time span makes it count; one that covers everything counts all.
            let counted = Filter { scopes, kinds, since: Some(i64::MIN), ..Default::default() };
            let (a, b) =
                (filtered_size(&mut conn, &kept).await.unwrap(), filtered_size(&mut conn, &counted).await.unwrap());
            assert_eq!(a.0, b.0, "{kept:?}");
            assert_eq!(a.1.unwrap_or(0), b.1.unwrap_or(0), "{kept:?}");
        }
    }
}
