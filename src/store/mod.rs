//! SQLite through sqlx: the pool (WAL), the embedded migrations, and one
//! repository file per table group.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly
//! one connection and never wait on each other inside SQLite; reads use a
//! separate pool and run beside the writer, which WAL mode allows. Write
//! transactions start with `BEGIN IMMEDIATE`, so a second process (the CLI
//! next to a running server) waits for the lock up front instead of failing
//! half-way through a transaction.

pub mod approvals;
pub mod audit;
pub mod breaker;
pub mod channels;
pub mod digest;
mod error;
pub mod inbox;
pub mod intents;
pub mod ledger;
pub mod memory;
pub mod outbox;
mod rows;
pub mod steps;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::config::{Durability, StoreConfig};

pub use error::StoreError;

pub type Tx = Transaction<'static, Sqlite>;

#[derive(Debug, Clone)]
pub struct Store {
    /// Exactly one connection: SQLite's single writer, made explicit.
    writer: SqlitePool,
    /// Readers run concurrently with the writer (WAL).
    reader: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database file and runs the migrations.
    pub async fn open(path: &Path, config: &StoreConfig) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io(dir.to_owned(), e))?;
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
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations").run(&writer).await?;
        let reader = SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await?;
        Ok(Self { writer, reader })
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
        Ok(Self { writer: pool.clone(), reader: pool })
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

    /// Waits for in-flight queries and closes both pools.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// The current time in the stored format.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
