//! The server's upkeep loops: the memory indexer (vectors after SQLite,
//! and the index compared with the records), retention, and the pruning of
//! handled chat events and old copies of text.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::memory::Memory;
use crate::store::Store;

/// How often the vector index is compared with the records.
const RECONCILE_EVERY: i64 = 5 * 60_000;

/// Keeps the vector index up with records written elsewhere (recorded
/// messages, decisions, outcomes): SQLite first, vectors soon after. Compares
/// the index with the records at start and every few minutes (by the
/// clock), and catches up after the index was away.
pub(super) async fn index_memory(memory: Memory, shutdown: CancellationToken) {
    let (mut next_reconcile, mut thorough) = (i64::MIN, true);
    loop {
        if memory.clock().now() >= next_reconcile {
            next_reconcile = match memory.reconcile(thorough).await {
                Ok(_) => {
                    // Everything once after start; then counts and a sample.
                    thorough = false;
                    memory.clock().now() + RECONCILE_EVERY
                }
                Err(e) => {
                    tracing::warn!(error = %e, "comparing the vector index with memory failed; will retry");
                    memory.clock().now() + RECONCILE_EVERY / 10
                }
            };
        }
        let wait = match memory.index_pending(crate::memory::INDEX_BATCH).await {
            Ok(0) => Duration::from_secs(1),
            Ok(_) => Duration::ZERO,
            Err(e) => {
                tracing::warn!(error = %e, "indexing memory failed; will retry");
                Duration::from_secs(2)
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = memory.records_waiting() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Applies the retention rules on a schedule; each run is idempotent.
pub(super) async fn apply_retention(
    memory: Memory,
    (rules, every): (std::collections::BTreeMap<String, crate::config::RetentionRule>, Duration),
    shutdown: CancellationToken,
) {
    loop {
        match memory.apply_retention(&rules, memory.clock().now()).await {
            Ok(r) if r.archived + r.purged > 0 => {
                tracing::info!(archived = r.archived, purged = r.purged, "memory retention applied")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "memory retention failed; will retry"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = memory.clock().sleep(every) => {}
        }
    }
}

/// Hourly: forgets handled chat events after a week, and scrubs copies of
/// text (inbox payloads, delivered messages, model answers, decided
/// approvals past their window) older than `copies_days`.
pub(super) async fn prune_chat_events(store: Store, copies_days: u64, shutdown: CancellationToken) {
    const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;
    let copies_ms = (copies_days.min(36_500) * 24 * 3600 * 1000) as i64;
    loop {
        let pruned = async {
            let now = store.now();
            let mut tx = store.begin().await?;
            let n = crate::store::inbox::prune(&mut tx, now - WEEK_MS).await?;
            let scrubbed = crate::store::scrub::older_than(&mut tx, now - copies_ms, now).await?;
            tx.commit().await?;
            Ok::<_, crate::store::StoreError>((n, scrubbed))
        };
        match pruned.await {
            Ok((n, scrubbed)) => {
                if n > 0 {
                    tracing::info!(events = n, "forgot handled chat events older than a week");
                }
                if scrubbed.total() > 0 {
                    tracing::info!(?scrubbed, "scrubbed old copies of text");
                }
            }
            Err(e) => tracing::warn!(error = %e, "pruning chat events failed; will retry"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = store.clock().sleep(Duration::from_secs(3600)) => {}
        }
    }
}
