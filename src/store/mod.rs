//! SQLite through sqlx: the pool (WAL), the embedded migrations, and one
//! repository file per table group.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly
//! one connection and never wait on each other inside SQLite; reads use a
//! separate pool and run beside the writer, which WAL mode allows. Write
//! transactions start with `BEGIN IMMEDIATE`, so a second process (the CLI
//! next to a running server) waits for the lock up front instead of failing
//! half-way through a transaction.

pub mod anchor;
pub mod approvals;
pub mod audit;
pub mod breaker;
pub mod channels;
pub mod digest;
mod error;
pub mod files;
pub mod forms;
pub mod gauges;
pub mod inbox;
pub mod indexing;
pub mod intents;
pub mod ledger;
pub mod memory;
pub mod menus;
pub mod outbox;
pub mod reminders;
mod rows;
pub mod scrub;
pub mod sets;
pub mod steps;
pub mod vector_deletes;
mod words;
pub mod workflow_parts;
pub mod workflows;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Durability, StoreConfig};
use crate::domain::{Millis, SharedClock, SystemClock};

pub use error::StoreError;

pub type Tx = Transaction<'static, Sqlite>;

#[derive(Debug, Clone)]
pub struct Store {
    /// Exactly one connection: SQLite's single writer, made explicit.
    writer: SqlitePool,
    /// Readers run concurrently with the writer (WAL).
    reader: SqlitePool,
    /// The task keeping `audit.anchor` (a store on a file only).
    anchor: Option<Arc<Anchoring>>,
    /// Where every component that shares this store takes its time from.
    clock: SharedClock,
}

/// The anchor task and how to stop it once its last head is written.
#[derive(Debug)]
struct Anchoring {
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Store {
    /// Opens (creating if needed) the database file and runs the migrations.
    pub async fn open(path: &Path, config: &StoreConfig) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            files::private_dir(dir).map_err(|e| StoreError::Io(dir.to_owned(), e))?;
        }
        let synchronous = match config.durability {
            Durability::Process => SqliteSynchronous::Normal,
            Durability::Power => SqliteSynchronous::Full,
        };
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(Duration::from_millis(config.busy_timeout_ms))
            .foreign_keys(true);
        let (hooks, committed) = anchor::Hooks::new();
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .after_connect(move |conn, _| {
                let hooks = hooks.clone();
                Box::pin(async move { hooks.install(conn).await })
            })
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&writer).await?;
        let reader = SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await?;
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            files::restrict(&file).map_err(|e| StoreError::Io(file.clone(), e))?;
        }
        let anchor_path = path.with_file_name(anchor::FILE);
        let stop = CancellationToken::new();
        let sync = config.durability == Durability::Power;
        let task = tokio::spawn(anchor::keep(anchor_path, reader.clone(), committed, sync, stop.clone()));
        let anchor = Some(Arc::new(Anchoring { stop, task: Mutex::new(Some(task)) }));
        Ok(Self { writer, reader, anchor, clock: SystemClock::shared() })
    }

    /// A private in-memory database, for tests and benchmarks.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { writer: pool.clone(), reader: pool, anchor: None, clock: SystemClock::shared() })
    }

    /// The same store, read with another clock (a test's manual one).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock of everything that shares this store.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The time now, by the store's clock, in the stored format.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Starts a write transaction holding SQLite's write lock from the start.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// A trivial query, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    /// Waits for in-flight queries, writes the audit anchor's last head,
    /// and closes both pools.
    pub async fn close(&self) {
        self.writer.close().await;
        if let Some(a) = &self.anchor {
            a.stop.cancel();
            if let Some(task) = a.task.lock().await.take() {
                let _ = task.await;
            }
        }
        self.reader.close().await;
    }
}

/// The system's wall clock, in the stored format: for comparing with
/// another party's clock (an HTTP date), and for code with no store at
/// hand. steward's own time is [`Store::now`].
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
