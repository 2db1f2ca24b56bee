//! Retention: records of a kind stay hot for `hot_days`, then are archived
//! (they leave the vector index, stay in FTS, and are rolled up into an
//! extractive `summary` record), and are purged after `purge_days`.
//! Running it twice changes nothing the second time.

use std::collections::{BTreeMap, HashMap};

use chrono::{TimeZone, Utc};
use serde::Serialize;

use super::{Memory, MemoryError};
use crate::config::RetentionRule;
use crate::domain::{MemoryKind, MemoryProvenance, MemoryRecord, Millis, NewMemory};
use crate::store::{StoreError, memory as rows};

const DAY: i64 = 86_400_000;
const BATCH: u32 = 500;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub archived: usize,
    pub summaries: usize,
    pub purged: usize,
}

fn first_sentence(text: &str) -> String {
    let end = text.find(['.', '!', '?', '\n']).map_or(text.len(), |i| i + 1);
    let s: String = text[..end].trim().chars().take(140).collect();
    s
}

fn date(ms: Millis) -> String {
    Utc.timestamp_millis_opt(ms).single().map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

/// An extractive rollup of archived records: no model needed.
fn rollup(kind: MemoryKind, records: &[&MemoryRecord]) -> String {
    let from = records.iter().map(|r| r.occurred_at).min().unwrap_or(0);
    let to = records.iter().map(|r| r.occurred_at).max().unwrap_or(0);
    let mut text = format!("Summary of {} {} records from {} to {}: ", records.len(), kind, date(from), date(to));
    for r in records {
        let line = format!("{} ({}); ", first_sentence(&r.text), date(r.occurred_at));
        if text.len() + line.len() > 4_000 {
            text.push('…');
            break;
        }
        text.push_str(&line);
    }
    text
}

/// The rule each kind follows: a kind's own rule, else its group's
/// (`message` for every kind of message).
fn ruled(rules: &BTreeMap<String, RetentionRule>) -> Result<BTreeMap<MemoryKind, RetentionRule>, MemoryError> {
    let mut out = BTreeMap::new();
    for (name, rule) in rules.iter().filter(|(name, _)| *name == "message") {
        out.extend(MemoryKind::named(name)?.into_iter().map(|k| (k, *rule)));
    }
    for (name, rule) in rules.iter().filter(|(name, _)| *name != "message") {
        out.insert(name.parse::<MemoryKind>()?, *rule);
    }
    Ok(out)
}

impl Memory {
    pub async fn apply_retention(
        &self,
        rules: &BTreeMap<String, RetentionRule>,
        now: Millis,
    ) -> Result<Report, MemoryError> {
        let mut report = Report::default();
        for (kind, rule) in ruled(rules)? {
            if kind == MemoryKind::Summary || rule.hot_days == 0 {
                continue;
            }
            self.archive(kind, now - rule.hot_days as i64 * DAY, now, &mut report).await?;
            if rule.purge_days > 0 {
                self.purge(kind, now - rule.purge_days as i64 * DAY, &mut report).await?;
            }
        }
        Ok(report)
    }

    async fn archive(
        &self,
        kind: MemoryKind,
        before: Millis,
        now: Millis,
        report: &mut Report,
    ) -> Result<(), MemoryError> {
        loop {
            let due = rows::older_than(self.store.reader(), kind, before, false, BATCH).await?;
            if due.is_empty() {
                return Ok(());
            }
            let mut by_scope: HashMap<&str, Vec<&MemoryRecord>> = HashMap::new();
            for r in &due {
                by_scope.entry(r.scope.as_str()).or_default().push(r);
            }
            let mut tx = self.store.begin().await?;
            for records in by_scope.values() {
                for r in records {
                    rows::archive(&mut tx, &r.id, now).await?;
                }
                let provenance = MemoryProvenance {
                    actor: "steward".into(),
                    channel: "retention".into(),
                    why: Some("retention rollup".into()),
                    ..Default::default()
                };
                let mut summary = NewMemory::new(
                    MemoryKind::Summary,
                    &rollup(kind, records),
                    records[0].scope.clone(),
                    provenance,
                    now,
                )?;
                summary.summary_of = records.iter().map(|r| r.id.clone()).collect();
                rows::record(&mut tx, &summary).await?;
                report.summaries += 1;
            }
            let ids: Vec<String> = due.iter().map(|r| r.id.clone()).collect();
            crate::store::vector_deletes::queue(&mut tx, &ids, now).await?;
            tx.commit().await.map_err(StoreError::from)?;
            if let Err(e) = self.drain_vector_deletes().await {
                tracing::warn!(error = %e, "the vector index refused deletes; they are queued and will be retried");
            }
            report.archived += ids.len();
        }
    }

    /// A rollup quotes each record it summarises, so a purged record leaves
    /// its rollups: each is written again from the records it has left, and
    /// forgotten when none is left.
    async fn drop_from_rollups(&self, kind: MemoryKind, purged: &str) -> Result<(), MemoryError> {
        let mut conn = self.store.reader().acquire().await.map_err(StoreError::from)?;
        let summaries = rows::summaries_of(&mut conn, purged).await?;
        drop(conn);
        for id in summaries {
            let Some(summary) = rows::get_many(self.store.reader(), &[id.clone()]).await?.pop() else { continue };
            let left: Vec<String> = summary.summary_of.iter().filter(|s| *s != purged).cloned().collect();
            let records = rows::get_many(self.store.reader(), &left).await?;
            if records.is_empty() {
                self.forget(&id, "retention").await?;
                continue;
            }
            let text = rollup(kind, &records.iter().collect::<Vec<_>>());
            let mut tx = self.store.begin().await?;
            rows::rewrite_summary(&mut tx, &id, &text, &records.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
                .await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        Ok(())
    }

    async fn purge(&self, kind: MemoryKind, before: Millis, report: &mut Report) -> Result<(), MemoryError> {
        loop {
            let due = rows::older_than(self.store.reader(), kind, before, true, BATCH).await?;
            if due.is_empty() {
                return Ok(());
            }
            for r in due {
                if self.forget(&r.id, "retention").await? {
                    report.purged += 1;
                }
                self.drop_from_rollups(kind, &r.id).await?;
            }
        }
    }
}
