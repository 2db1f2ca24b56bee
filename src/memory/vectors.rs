//! Keeping the vector index derived from the records: embedding what waits,
//! removing what was forgotten, comparing the two now and then, and
//! rebuilding. SQLite is the truth throughout; the index may be down, empty
//! or replaced, and what it lacks is embedded again.

use serde::Serialize;

use super::index::IndexHealth;
use super::{INDEX_BATCH, Memory, MemoryError, RECONCILE_PAGE, index};
use crate::domain::Millis;
use crate::store::{StoreError, indexing, memory as rows};

/// What a comparison of the index with the records found.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Reconciled {
    #[serde(serialize_with = "crate::domain::stamp::serialize")]
    pub at: Millis,
    /// Whether every record and point was compared (else the counts and a
    /// sample, which agreed).
    pub thorough: bool,
    /// Records marked indexed whose point the index lacked: embedded again.
    pub missing: usize,
    /// Points whose record is gone or archived: removed.
    pub orphans: usize,
}

impl Memory {
    /// Embeds and indexes up to `batch` records that have no vector yet.
    /// Returns how many it indexed (and queued deletes it carried out).
    pub async fn index_pending(&self, batch: u32) -> Result<usize, MemoryError> {
        let _only_one = self.indexing.lock().await;
        // A delete the index refuses stays queued; indexing goes on.
        let deleted = self.drain_vector_deletes().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the vector index refused queued deletes; retrying later");
            0
        });
        self.refill_if_emptied().await?;
        let pending = indexing::unindexed(self.store.reader(), batch).await?;
        if pending.is_empty() {
            self.index.finish_rebuild().await?;
            return Ok(deleted);
        }
        let texts: Vec<String> = pending.iter().map(|p| p.text.clone()).collect();
        let vectors = self.embedder.embed(&texts).await?;
        let points = pending
            .iter()
            .zip(vectors)
            .map(|(p, vector)| index::Point {
                id: p.id.clone(),
                vector,
                scope: p.scope.clone(),
                kind: p.kind.clone(),
                occurred_at: p.occurred_at,
            })
            .collect();
        self.index.upsert(points).await?;
        let ids: Vec<String> = pending.into_iter().map(|p| p.id).collect();
        // The upsert may be what found the collection gone and made it anew.
        self.refill_if_emptied().await?;
        let mut tx = self.store.begin().await?;
        indexing::mark_indexed(&mut tx, &ids, self.store.now()).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ids.len())
    }

    /// An index made anew (deleted under steward, or a new server) holds
    /// none of the records marked before: all of them wait again.
    async fn refill_if_emptied(&self) -> Result<(), MemoryError> {
        if self.index.take_emptied() {
            let mut tx = self.store.begin().await?;
            let all = indexing::unindex_all(&mut tx).await?;
            tx.commit().await.map_err(StoreError::from)?;
            if !all.is_empty() {
                tracing::warn!(records = all.len(), "the vector index was made anew; embedding every record again");
                self.waiting.notify_one();
            }
        }
        Ok(())
    }

    /// Compares the index with the records, both ways: live records marked
    /// indexed whose point it lacks (lost in a crash, or with an index that
    /// was emptied or replaced) are marked to be embedded again, and points
    /// whose record is gone are removed. Run at start (`thorough`: every
    /// record and every point) and every few minutes, when it first compares
    /// the counts and a page of records from a random place, and goes
    /// through everything only if they differ; so vectors stay derived with
    /// no command.
    pub async fn reconcile(&self, thorough: bool) -> Result<Reconciled, MemoryError> {
        self.refill_if_emptied().await?;
        if !thorough && self.looks_whole().await? {
            let found = Reconciled { at: self.store.now(), thorough, missing: 0, orphans: 0 };
            *self.reconciled.lock().unwrap_or_else(|p| p.into_inner()) = Some(found);
            return Ok(found);
        }
        let (mut after, mut missing) = (0, 0);
        loop {
            let page = indexing::indexed_after(self.store.reader(), after, RECONCILE_PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            let ids: Vec<String> = page.into_iter().map(|(_, id)| id).collect();
            let lost = self.index.missing(&ids).await?;
            if !lost.is_empty() {
                let mut tx = self.store.begin().await?;
                missing += indexing::unindex(&mut tx, &lost).await? as usize;
                tx.commit().await.map_err(StoreError::from)?;
            }
        }
        let mut orphans = 0;
        let mut next = None;
        loop {
            let (ids, more) = self.index.ids_from(next.take(), RECONCILE_PAGE as usize).await?;
            let wanted = indexing::wanted(self.store.reader(), &ids).await?;
            let left: Vec<String> = ids.into_iter().filter(|id| !wanted.contains(id)).collect();
            if !left.is_empty() {
                self.index.delete(&left).await?;
                orphans += left.len();
            }
            match more {
                Some(m) => next = Some(m),
                None => break,
            }
        }
        if missing + orphans > 0 {
            tracing::warn!(
                missing,
                orphans,
                "the vector index differed from memory; embedding the missing records again"
            );
        }
        if missing > 0 {
            self.waiting.notify_one();
        }
        let found = Reconciled { at: self.store.now(), thorough: true, missing, orphans };
        *self.reconciled.lock().unwrap_or_else(|p| p.into_inner()) = Some(found);
        Ok(found)
    }

    /// Whether the index holds as many points as there are records marked
    /// indexed, and a page of those records, from a random place, all have
    /// theirs.
    async fn looks_whole(&self) -> Result<bool, MemoryError> {
        let indexed = indexing::indexed_count(self.store.reader()).await?;
        if self.index.count().await? as i64 != indexed {
            return Ok(false);
        }
        let last = indexing::last_rowid(self.store.reader()).await?;
        let start = rand::Rng::gen_range(&mut rand::thread_rng(), 0..=(last - i64::from(RECONCILE_PAGE)).max(0));
        let page = indexing::indexed_after(self.store.reader(), start, RECONCILE_PAGE).await?;
        let ids: Vec<String> = page.into_iter().map(|(_, id)| id).collect();
        Ok(self.index.missing(&ids).await?.is_empty())
    }

    /// Starts the index over and marks every live record to be embedded
    /// again, with a job to ask how far that got. Under the indexer's lock:
    /// no batch in flight can mark a record indexed whose point was not
    /// rebuilt. A server keeps searching the old collection meanwhile.
    async fn restart_index(&self) -> Result<(String, u64), MemoryError> {
        let _only_one = self.indexing.lock().await;
        self.index.begin_rebuild().await?;
        let mut tx = self.store.begin().await?;
        let ids = indexing::unindex_all(&mut tx).await?;
        let job = indexing::job(&mut tx, &ids, self.store.now()).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok((job, ids.len() as u64))
    }

    /// Rebuilds the vector index in the background (the indexer embeds
    /// every record again, while search goes on): the job to ask how far it
    /// got, and how many records it has.
    pub async fn reindex_later(&self) -> Result<(String, u64), MemoryError> {
        let started = self.restart_index().await?;
        self.waiting.notify_one();
        Ok(started)
    }

    /// Rebuilds the vector index from SQLite. `progress(done, total)` is
    /// called after each batch.
    pub async fn reindex(&self, mut progress: impl FnMut(u64, u64)) -> Result<usize, MemoryError> {
        let (_, total) = self.restart_index().await?;
        let mut done = 0;
        loop {
            let n = self.index_pending(INDEX_BATCH).await?;
            if n == 0 {
                return Ok(done);
            }
            done += n;
            progress(done as u64, total);
        }
    }

    /// Removes queued points from the vector index; each leaves the queue
    /// only once the index confirmed it. Returns how many went.
    pub async fn drain_vector_deletes(&self) -> Result<usize, MemoryError> {
        let ids = crate::store::vector_deletes::queued(self.store.reader(), 256).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        self.index.delete(&ids).await?;
        let mut tx = self.store.begin().await?;
        crate::store::vector_deletes::done(&mut tx, &ids).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ids.len())
    }

    /// Whether the vector index can be used now.
    pub async fn index_health(&self) -> IndexHealth {
        self.index.health().await
    }

    /// Records by kind, how many wait for their vectors, and the index: its
    /// size, how far it is from the records marked indexed, and what the
    /// last comparison found. An index that cannot be reached is reported,
    /// not an error.
    pub async fn stats(&self) -> Result<serde_json::Value, MemoryError> {
        let mut s = rows::stats(self.store.reader()).await?;
        let indexed = indexing::indexed_count(self.store.reader()).await?;
        let health = self.index.health().await;
        let vectors = match &health {
            IndexHealth::Ok => self.index.count().await.ok(),
            _ => None,
        };
        s["indexed"] = indexed.into();
        s["vectors"] = vectors.into();
        // Records marked indexed that the index does not hold (negative:
        // points it holds beyond them); the indexer and the next
        // comparison close it.
        s["vector_gap"] = vectors.map(|v| indexed - v as i64).into();
        s["index_status"] = health.describe().into();
        s["embedder"] = self.embedder.name().into();
        s["index"] = self.index.name().into();
        s["index_location"] = self.index.describe().into();
        let last = *self.reconciled.lock().unwrap_or_else(|p| p.into_inner());
        s["last_reconcile"] = serde_json::to_value(last).unwrap_or_default();
        Ok(s)
    }
}
