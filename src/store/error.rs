//! The store's one error type.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0} not found")]
    NotFound(String),
    /// The same idempotency key was used earlier with a different request.
    #[error("idempotency key `{0}` was already used for a different request")]
    IdempotencyConflict(String),
    /// A stored value no longer parses; the database was edited by hand or
    /// by a newer version.
    #[error("corrupt row in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
}

impl StoreError {
    pub(crate) fn corrupt(table: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt { table, reason: reason.to_string() }
    }
}
