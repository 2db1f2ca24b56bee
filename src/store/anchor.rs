//! The audit chain's anchor outside the database: after every commit that
//! wrote audit rows, the chain's head `(seq, hash)` is written to
//! `audit.anchor` beside the database. Someone who can rewrite the database
//! can cut rows off the end of the chain and leave it internally whole;
//! the anchor remembers how far it reached, so `audit verify` catches that.
//!
//! The writer connection reports its own commits through SQLite's hooks: an
//! insert into `audit` raises the pending head, a commit publishes it, a
//! rollback drops it. One task writes the file, atomically (a temporary
//! file renamed over it), taking only the newest head when commits come
//! faster than it writes: at most one write per group commit.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::sqlite::SqliteOperation;
use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::StoreError;

/// The file name of the anchor, in the data directory.
pub const FILE: &str = "audit.anchor";

/// The head of the chain at some commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl std::str::FromStr for Head {
    type Err = String;
    /// `SEQ:HASH`, as digests print it and `audit verify --anchor` takes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (seq, hash) = s.trim().split_once(':').ok_or("an anchor is SEQ:HASH")?;
        let seq: i64 = seq.trim().parse().map_err(|_| format!("`{seq}` is not a row number"))?;
        let hash = hash.trim().to_ascii_lowercase();
        if seq < 1 || hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("an anchor is SEQ:HASH with a row number from 1 and a 64-digit hex hash".into());
        }
        Ok(Self { seq, hash })
    }
}

/// What the writer connection's hooks share with the anchor task.
#[derive(Debug)]
pub(super) struct Hooks {
    /// The highest audit seq inserted by the open transaction (0: none).
    pending: AtomicI64,
    committed: watch::Sender<i64>,
}

impl Hooks {
    pub(super) fn new() -> (Arc<Self>, watch::Receiver<i64>) {
        let (committed, rx) = watch::channel(0);
        (Arc::new(Self { pending: AtomicI64::new(0), committed }), rx)
    }

    /// Installs the hooks on the writer connection.
    pub(super) async fn install(self: &Arc<Self>, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        let mut handle = conn.lock_handle().await?;
        let on_insert = self.clone();
        handle.set_update_hook(move |change| {
            if change.operation == SqliteOperation::Insert && change.table == "audit" {
                on_insert.pending.fetch_max(change.rowid, Ordering::Relaxed);
            }
        });
        let on_commit = self.clone();
        handle.set_commit_hook(move || {
            let seq = on_commit.pending.swap(0, Ordering::Relaxed);
            if seq > 0 {
                on_commit.committed.send_replace(seq);
            }
            true
        });
        let on_rollback = self.clone();
        handle.set_rollback_hook(move || on_rollback.pending.store(0, Ordering::Relaxed));
        Ok(())
    }
}

/// Writes each published head to `path` until `stop`, then writes the last
/// one. With `sync`, each write reaches the disk before the next.
pub(super) async fn keep(
    path: PathBuf,
    reader: SqlitePool,
    mut committed: watch::Receiver<i64>,
    sync: bool,
    stop: CancellationToken,
) {
    let mut written = 0;
    loop {
        let open = tokio::select! {
            changed = committed.changed() => changed.is_ok(),
            _ = stop.cancelled() => false,
        };
        let seq = *committed.borrow_and_update();
        if seq > written {
            match head_at(&reader, seq).await {
                Ok(Some(head)) => match write(&path, &head, sync) {
                    Ok(()) => written = seq,
                    Err(e) => tracing::error!(path = %path.display(), error = %e, "cannot write the audit anchor"),
                },
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the audit head for its anchor"),
            }
        }
        if !open {
            return;
        }
    }
}

async fn head_at(reader: &SqlitePool, seq: i64) -> Result<Option<Head>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT hash FROM audit WHERE seq = ?").bind(seq).fetch_optional(reader).await?;
    Ok(row.map(|(hash,)| Head { seq, hash }))
}

/// The anchor file's content: one line, `SEQ:HASH`.
pub fn write(path: &Path, head: &Head, sync: bool) -> std::io::Result<()> {
    use std::io::Write;
    // One temporary file per process: the CLI beside a running server
    // writes the anchor too, and two writers must not share one.
    let tmp = path.with_extension(format!("anchor.{}.tmp", std::process::id()));
    let mut file = super::files::private_file(&tmp)?;
    writeln!(file, "{head}")?;
    if sync {
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if sync {
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
    }
    Ok(())
}

/// Reads the anchor file: `None` when there is none (a chain never written
/// to since anchoring began).
pub fn read(path: &Path) -> Result<Option<Head>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.parse().map(Some).map_err(|e| format!("{} is unreadable: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_read_back_as_written_and_bad_ones_are_refused() {
        let head = Head { seq: 42, hash: "ab".repeat(32) };
        assert_eq!(head.to_string().parse::<Head>().unwrap(), head);
        for bad in ["", "42", "x:ab", "0:abab", &format!("7:{}", "zz".repeat(32)), &format!("-1:{}", "ab".repeat(32))] {
            assert!(bad.parse::<Head>().is_err(), "{bad}");
        }
    }
}
