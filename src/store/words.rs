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

/// Words too common to say anything about which record is meant, and what
/// is left of a contraction split at its apostrophe ("what's", "I'm"):
/// matching them only adds noise to BM25's ranking.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "did", "do", "does", "for", "from", "get", "got", "how", "i",
    "in", "is", "it", "me", "my", "of", "on", "or", "our", "should", "that", "the", "their", "they", "this", "to",
    "was", "we", "what", "when", "where", "which", "who", "why", "will", "with", "you", "s", "t", "ll", "re", "ve",
    "d", "m",
];

/// The most terms a word search uses: each term is one more posting list
/// to merge, so a query cannot be made to cost without bound.
pub const MAX_QUERY_TERMS: usize = 32;
/// Longer "words" are cut to this many characters.
const MAX_TERM_CHARS: usize = 64;

/// The words a query searches for: its content words (all its words when
/// it has none), each once, cut to [`MAX_TERM_CHARS`], at most
/// [`MAX_QUERY_TERMS`] of them.
pub fn query_words(text: &str) -> Vec<String> {
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

/// A word's matches taken as candidates at most, newest first. A word with
/// more is common: its weight comes from its count, and the records it
/// shares with the other common words are taken too.
const PER_WORD: i64 = 200;
/// BM25's term-frequency saturation and length normalisation.
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// The columns a query's words are matched in (not `facets`).
const WORD_COLUMNS: &str = "{text tags actor}";

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

/// The scopes and kinds a filter lets through, as FTS5 clauses on the
/// `facets` column (migration 0022): MATCH then intersects them with the
/// words, so no match outside them is walked. Empty when the filter lets
/// every record through.
fn facets(f: &Filter) -> String {
    let token = |prefix: char, s: &str| {
        let hex: String = s.bytes().map(|b| format!("{b:02X}")).collect();
        format!("\"{prefix}{hex}\"")
    };
    let any = |tokens: Vec<String>| format!(" AND facets : ({})", tokens.join(" OR "));
    let mut clause = String::new();
    if !f.all_scopes {
        clause += &any(f.scopes.iter().map(|s| token('s', s.as_str())).collect());
    }
    if !f.kinds.is_empty() {
        clause += &any(f.kinds.iter().map(|k| token('k', k.as_str())).collect());
    }
    clause
}

/// How many records within the filter's scopes and kinds match `expr`:
/// FTS5 alone, nothing joined (a time span is not counted in).
async fn count(conn: &mut SqliteConnection, expr: &str) -> Result<i64, StoreError> {
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM memory_fts WHERE memory_fts MATCH ?")
        .bind(expr)
        .fetch_one(&mut *conn)
        .await?;
    Ok(n)
}

/// The newest `limit` records under the filter that match `expr`. FTS5
/// walks its matches newest first and stops at the limit; nothing is
/// ranked. The filter is checked in SQL as well: the facets only narrow.
async fn newest(conn: &mut SqliteConnection, expr: &str, f: &Filter, limit: i64) -> Result<Vec<i64>, StoreError> {
    // CROSS JOIN keeps FTS5 the outer loop: otherwise the planner may walk
    // a scope's records and run the MATCH once for each (seconds at 100k).
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT m.rowid FROM memory_fts CROSS JOIN memory m ON m.rowid = memory_fts.rowid WHERE memory_fts MATCH ",
    );
    q.push_bind(expr.to_owned());
    push_filter(&mut q, f);
    q.push(" ORDER BY memory_fts.rowid DESC LIMIT ").push_bind(limit);
    let rows = q.build().fetch_all(&mut *conn).await?;
    rows.iter().map(|r| r.try_get::<i64, _>(0).map_err(StoreError::from)).collect()
}

/// Word search (BM25 within the filter), best first, over live and
/// archived records. No record outside the filter is ever scored, and the
/// work is bounded by the words, not by how many records match them: each
/// word is counted within the filter's scopes and kinds (FTS5 alone), its
/// newest matches under the filter are the candidates (all of a rare
/// word's), with the newest records that have every common word, and only
/// those are scored.
pub async fn lexical(
    conn: &mut SqliteConnection,
    query: &str,
    f: &Filter,
    limit: u32,
) -> Result<Vec<(String, f64)>, StoreError> {
    if f.scopes.is_empty() {
        return Ok(vec![]);
    }
    let stemmer = Stemmer::create(Algorithm::English);
    let stem = |w: &str| stemmer.stem(w).into_owned();
    // One term per stem, matched by the first word that has it.
    let mut seen = std::collections::HashSet::new();
    let terms: Vec<(String, String)> =
        query_words(query).into_iter().map(|w| (stem(&w), w)).filter(|(t, _)| seen.insert(t.clone())).collect();
    if terms.is_empty() {
        return Ok(vec![]);
    }
    let (n, chars) = filtered_size(conn, f).await?;
    // A word's count covers its scopes and kinds at any time: within a
    // time span, it is taken in proportion to the span's share of them.
    let span_share = match (f.since, f.until) {
        (None, None) => 1.0,
        _ => {
            let (all, _) = filtered_size(conn, &Filter { since: None, until: None, ..f.clone() }).await?;
            n as f64 / all.max(1) as f64
        }
    };
    let within = facets(f);
    let mut df: HashMap<&str, f64> = HashMap::new();
    let mut candidates = std::collections::BTreeSet::new();
    let mut common = Vec::new();
    for (term, word) in &terms {
        let expr = format!("{WORD_COLUMNS} : \"{word}\"{within}");
        let matches = count(conn, &expr).await?;
        df.insert(term, matches as f64 * span_share);
        candidates.extend(newest(conn, &expr, f, PER_WORD).await?);
        if matches > PER_WORD {
            common.push(format!("\"{word}\""));
        }
    }
    if common.len() > 1 {
        let expr = format!("{WORD_COLUMNS} : ({}){within}", common.join(" AND "));
        candidates.extend(newest(conn, &expr, f, PER_WORD).await?);
    }
    let term_stems: Vec<&str> = terms.iter().map(|(t, _)| t.as_str()).collect();
    let docs = indexed(conn, &candidates, &term_stems, &stem).await?;
    let n = (n as f64).max(1.0);
    let (words_total, chars_total) = docs.iter().fold((0, 0), |(w, c), d| (w + d.2, c + d.3));
    let avgdl = (chars.unwrap_or(0) as f64 / n * words_total as f64 / chars_total.max(1) as f64).max(1.0);
    let idf: Vec<f64> = term_stems
        .iter()
        .map(|t| {
            let d = df.get(t).copied().unwrap_or(0.0).min(n);
            (1.0 + (n - d + 0.5) / (d + 0.5)).ln()
        })
        .collect();
    let mut scored: Vec<(String, f64)> = docs
        .into_iter()
        .map(|(id, tfs, dl, _)| {
            let norm = K1 * (1.0 - B + B * dl as f64 / avgdl);
            let score = tfs.iter().zip(&idf).map(|(tf, idf)| idf * tf * (K1 + 1.0) / (tf + norm)).sum();
            (id, score)
        })
        .collect();
    scored.retain(|(_, score)| *score > 0.0);
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    scored.truncate(limit as usize);
    Ok(scored)
}

/// Each candidate's id, how often each term is among its words as indexed,
/// its length in words and in characters. A word is stemmed only when it
/// begins as a term does (a stem keeps its word's first two letters, but
/// for three exceptions), so scoring does not stem every word of every
/// candidate.
async fn indexed(
    conn: &mut SqliteConnection,
    rowids: &std::collections::BTreeSet<i64>,
    terms: &[&str],
    stem: &(dyn Fn(&str) -> String + Sync),
) -> Result<Vec<(String, Vec<f64>, usize, usize)>, StoreError> {
    let mut heads: Vec<String> = terms.iter().map(|t| t.chars().take(2).collect()).collect();
    // The stemmer's only exceptions: dying, lying and tying.
    for (stem, head) in [("die", "dy"), ("lie", "ly"), ("tie", "ty")] {
        if terms.contains(&stem) {
            heads.push(head.to_owned());
        }
    }
    let mut docs = Vec::with_capacity(rowids.len());
    let all: Vec<i64> = rowids.iter().copied().collect();
    for chunk in all.chunks(500) {
        let mut q =
            QueryBuilder::<Sqlite>::new(format!("SELECT m.id, {INDEXED} AS indexed FROM memory m WHERE m.rowid IN ("));
        let mut sep = q.separated(", ");
        for r in chunk {
            sep.push_bind(*r);
        }
        q.push(")");
        for r in q.build().fetch_all(&mut *conn).await? {
            let text: String = r.try_get("indexed")?;
            let words = words(&text);
            let mut tf = vec![0.0; terms.len()];
            for w in &words {
                if !heads.iter().any(|h| w.starts_with(h.as_str())) {
                    continue;
                }
                let s = stem(w);
                for (i, t) in terms.iter().enumerate() {
                    if s == *t {
                        tf[i] += 1.0;
                    }
                }
            }
            docs.push((r.try_get("id")?, tf, words.len(), text.len()));
        }
    }
    Ok(docs)
}

#[cfg(test)]
#[path = "words_tests.rs"]
mod tests;
