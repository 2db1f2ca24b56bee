//! Word search: the query's words as an FTS5 expression that cannot be a
//! syntax error, and BM25 computed within what is searched. FTS5 finds the
//! matching records, but its own BM25 weighs each word by how rare it is in
//! the whole store; a word in most records of the scopes being searched (a
//! conversation's speaker, a client's name in that client's notes) must
//! weigh little there, so the matches are scored here, with each word's
//! frequency counted among the records the filter lets through.

use std::collections::HashMap;

use qdrant_rust_stemmers::{Algorithm, Stemmer};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::StoreError;
use super::memory::{Filter, push_filter};

/// Words too common to say anything about which record is meant; matching
/// them only adds noise to BM25's ranking.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "did", "do", "does", "for", "from", "get", "got", "how", "i",
    "in", "is", "it", "me", "my", "of", "on", "or", "our", "should", "that", "the", "their", "they", "this", "to",
    "was", "we", "what", "when", "where", "which", "who", "why", "will", "with", "you",
];

/// The most terms a word search uses: each term is one more posting list
/// to merge, so a query cannot be made to cost without bound.
pub const MAX_QUERY_TERMS: usize = 32;
/// Longer "words" are cut to this many characters.
const MAX_TERM_CHARS: usize = 64;

/// The words of a query as an FTS5 expression that cannot be a syntax error:
/// each distinct word quoted once, any of them may match (BM25 ranks those
/// with more), at most [`MAX_QUERY_TERMS`] of them. Stopwords are dropped
/// unless nothing else is left.
pub fn fts_query(text: &str) -> Option<String> {
    let quoted: Vec<String> = query_words(text).into_iter().map(|w| format!("\"{w}\"")).collect();
    (!quoted.is_empty()).then(|| quoted.join(" OR "))
}

/// The words a query searches for: its content words (all its words when
/// it has none), each once, cut to [`MAX_TERM_CHARS`], at most
/// [`MAX_QUERY_TERMS`] of them.
fn query_words(text: &str) -> Vec<String> {
    let content = content_words(text);
    let chosen = if content.is_empty() { words(text) } else { content };
    let mut seen = std::collections::HashSet::new();
    chosen
        .into_iter()
        .map(|w| w.chars().take(MAX_TERM_CHARS).collect::<String>())
        .filter(|w| seen.insert(w.clone()))
        .take(MAX_QUERY_TERMS)
        .collect()
}

/// A text's words, lower case, split at anything not alphanumeric.
/// Lowered before it is split: some letters lower to a letter and a mark
/// (`İ` to `i̇`), and the mark is no part of a word.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

/// The words that say what a text is about: its words minus stopwords.
pub fn content_words(text: &str) -> Vec<String> {
    words(text).into_iter().filter(|w| !STOPWORDS.contains(&w.as_str())).collect()
}

/// How many matching records are scored at most: FTS5's best, by its own
/// rank, when more match.
const CANDIDATES: i64 = 2_000;
/// BM25's term-frequency saturation and length normalisation.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// What a matching record is scored on: its words as indexed (text, tags,
/// and a message's named speaker).
const INDEXED: &str = "m.text || ' ' || m.tags || ' ' || CASE WHEN m.kind IN ('question', 'statement', 'command', 'reply') \
AND instr(m.actor, ':') = 0 THEN m.actor ELSE '' END";

/// How many records the filter lets through, and their total length: from
/// the per-(scope, kind) counts the triggers keep, or, for a filter over a
/// time span, counted.
async fn filtered_size(conn: &mut SqliteConnection, f: &Filter) -> Result<(i64, Option<i64>), StoreError> {
    let sql = if f.since.is_none() && f.until.is_none() {
        "SELECT SUM(n) AS n, SUM(chars) AS chars FROM memory_stats m WHERE 1 = 1"
    } else {
        "SELECT COUNT(*) AS n, SUM(length(m.text)) AS chars FROM memory m WHERE 1 = 1"
    };
    let mut size = QueryBuilder::<Sqlite>::new(sql);
    push_filter(&mut size, f);
    let row = size.build().fetch_one(&mut *conn).await?;
    Ok((row.try_get::<Option<i64>, _>("n")?.unwrap_or(0), row.try_get("chars")?))
}

/// Word search (BM25 within the filter), best first, over live and
/// archived records. The filter runs before anything is scored, so no
/// record the reader cannot read is ever scored for them.
pub async fn lexical(
    conn: &mut SqliteConnection,
    query: &str,
    f: &Filter,
    limit: u32,
) -> Result<Vec<(String, f64)>, StoreError> {
    let Some(expr) = fts_query(query) else { return Ok(vec![]) };
    if f.scopes.is_empty() {
        return Ok(vec![]);
    }
    let stemmer = Stemmer::create(Algorithm::English);
    let stem = |w: &str| stemmer.stem(w).into_owned();
    let terms: Vec<String> = {
        let mut seen = std::collections::HashSet::new();
        query_words(query).iter().map(|w| stem(w)).filter(|t| seen.insert(t.clone())).collect()
    };
    let (n, chars) = filtered_size(conn, f).await?;
    // The matches under the filter (FTS5's best, when there are more).
    let mut found = QueryBuilder::<Sqlite>::new(format!(
        "SELECT m.id, {INDEXED} AS indexed, COUNT(*) OVER () AS matches FROM memory_fts JOIN memory m \
         ON m.rowid = memory_fts.rowid WHERE memory_fts MATCH "
    ));
    found.push_bind(expr);
    push_filter(&mut found, f);
    found.push(" ORDER BY memory_fts.rank LIMIT ").push_bind(CANDIDATES);
    let rows = found.build().fetch_all(&mut *conn).await?;
    let Some(first) = rows.first() else { return Ok(vec![]) };
    let matches: i64 = first.try_get("matches")?;
    let mut candidate_chars = 0;
    let docs: Vec<(String, Vec<String>)> = rows
        .iter()
        .map(|r| {
            let indexed: String = r.try_get("indexed")?;
            candidate_chars += indexed.len();
            Ok((r.try_get("id")?, words(&indexed).iter().map(|w| stem(w)).collect()))
        })
        .collect::<Result<_, StoreError>>()?;
    // Each word's record frequency within the filter: counted among the
    // candidates, scaled up when they are not every match.
    let scale = matches as f64 / docs.len() as f64;
    let mut df: HashMap<&str, f64> = HashMap::new();
    for (_, w) in &docs {
        for t in &terms {
            if w.iter().any(|x| x == t) {
                *df.entry(t.as_str()).or_default() += scale;
            }
        }
    }
    let n = (n as f64).max(matches as f64).max(1.0);
    let words_per_char = docs.iter().map(|(_, w)| w.len()).sum::<usize>() as f64 / candidate_chars.max(1) as f64;
    let avgdl = (chars.unwrap_or(0) as f64 / n * words_per_char).max(1.0);
    let mut scored: Vec<(String, f64)> = docs
        .into_iter()
        .map(|(id, w)| {
            let dl = w.len() as f64;
            let score = terms
                .iter()
                .map(|t| {
                    let tf = w.iter().filter(|x| *x == t).count() as f64;
                    let d = df.get(t.as_str()).copied().unwrap_or(0.0).min(n);
                    let idf = (1.0 + (n - d + 0.5) / (d + 0.5)).ln();
                    idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * dl / avgdl))
                })
                .sum();
            (id, score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    scored.truncate(limit as usize);
    Ok(scored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MemoryKind, MemoryProvenance, NewMemory, Scope};
    use crate::store::{Store, memory};

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
        sqlx::query("UPDATE memory SET scope = 'operator', kind = 'note' WHERE rowid = 4")
            .execute(&mut *tx)
            .await
            .unwrap();
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
}
