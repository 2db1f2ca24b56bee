//! `steward backup DIR` and `steward restore DIR`.
//!
//! A backup is a consistent snapshot of the database taken online (SQLite's
//! `VACUUM INTO` on a read-only connection, so a running server goes on
//! writing), the audit anchor of that snapshot, the config and policy files,
//! and a manifest. Vectors are not in it: they are derived from the records
//! and rebuilt when `serve` starts. Neither are secret files, nor the API
//! token (a new one is made where none is configured).
//!
//! A restore refuses a data directory that a server is using, and one that
//! already holds a database unless `--force`, which moves that database
//! aside (never deletes it). It checks the backup's audit chain against the
//! backup's anchor before it copies anything.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::lock_data_dir;
use crate::config::Config;
use crate::store::anchor::{self, Head};
use crate::store::{audit, files};

const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "steward.db";
const CONFIG: &str = "steward.toml";
const POLICY: &str = "policy.toml";
/// Backups this version writes; a restore refuses others.
const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    steward: String,
    /// RFC 3339, when the snapshot was taken.
    taken_at: String,
    /// The audit chain's head in the snapshot (`SEQ:HASH`), if it has rows.
    audit_head: Option<String>,
    records: i64,
    intents: i64,
    /// The config and policy files copied, by their names in the backup.
    config: Option<String>,
    policy: Option<String>,
}

/// A read-only pool on a database file.
async fn read_only(path: &Path) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::new().filename(path).read_only(true).busy_timeout(Duration::from_secs(10));
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open {}", path.display()))
}

async fn count(pool: &SqlitePool, table: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(pool).await?)
}

/// The snapshot's chain must be whole and hold `anchor` (the head steward
/// had anchored before the snapshot, or the backup's own); its head is
/// returned.
async fn checked_chain(pool: &SqlitePool, anchor: Option<&Head>) -> anyhow::Result<Option<Head>> {
    let chain = audit::verify(pool).await?;
    if let Some(b) = chain.broken {
        bail!("its audit chain is broken at row {}: {}; run `steward audit verify`", b.seq, b.reason);
    }
    if let Some(head) = anchor {
        if let Err(why) = audit::holds(pool, head).await? {
            bail!("its audit chain does not reach its anchor {head}: {why}; run `steward audit verify`");
        }
    }
    Ok(audit::head(pool).await?)
}

fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    let mut src = std::fs::File::open(from).with_context(|| format!("cannot read {}", from.display()))?;
    let mut dst = files::private_file(to).with_context(|| format!("cannot write {}", to.display()))?;
    std::io::copy(&mut src, &mut dst)?;
    dst.sync_all()?;
    Ok(())
}

pub async fn backup(config: &Config, config_file: Option<&Path>, dir: &Path) -> anyhow::Result<ExitCode> {
    let db = config.database_path();
    if !db.exists() {
        bail!("no database at {}: nothing to back up (pass the right --data-dir)", db.display());
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} is not empty: back up into a new or empty directory", dir.display());
    }
    files::private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    match take(config, config_file, dir, &db).await {
        Ok(manifest) => {
            println!(
                "backed up {} records and {} intents to {} (audit head {})",
                manifest.records,
                manifest.intents,
                dir.display(),
                manifest.audit_head.as_deref().unwrap_or("none")
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            // Nothing half-made stays behind to be mistaken for a backup.
            for name in [DATABASE, anchor::FILE, CONFIG, POLICY, MANIFEST] {
                let _ = std::fs::remove_file(dir.join(name));
            }
            Err(e)
        }
    }
}

async fn take(config: &Config, config_file: Option<&Path>, dir: &Path, db: &Path) -> anyhow::Result<Manifest> {
    // Read first: the snapshot is at least as new as this, so it must hold it.
    let anchored = anchor::read(&config.data_dir.join(anchor::FILE)).map_err(anyhow::Error::msg)?;
    let live = read_only(db).await?;
    let target = dir.join(DATABASE);
    let taken_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    sqlx::query("VACUUM INTO ?")
        .bind(target.to_string_lossy().into_owned())
        .execute(&live)
        .await
        .with_context(|| format!("cannot copy {} to {}", db.display(), target.display()))?;
    live.close().await;
    files::restrict(&target)?;
    let snapshot = read_only(&target).await?;
    let head = checked_chain(&snapshot, anchored.as_ref()).await.context("the database was not backed up")?;
    let (records, intents) = (count(&snapshot, "memory").await?, count(&snapshot, "intents").await?);
    snapshot.close().await;
    if let Some(head) = &head {
        anchor::write(&dir.join(anchor::FILE), head, true)?;
    }
    let config_copy = match config_file {
        Some(file) => {
            copy_private(file, &dir.join(CONFIG))?;
            Some(CONFIG.to_owned())
        }
        None => None,
    };
    let policy_copy = match &config.policy.path {
        Some(file) => {
            copy_private(file, &dir.join(POLICY))?;
            Some(POLICY.to_owned())
        }
        None => None,
    };
    let manifest = Manifest {
        format: FORMAT,
        steward: env!("CARGO_PKG_VERSION").to_owned(),
        taken_at,
        audit_head: head.map(|h| h.to_string()),
        records,
        intents,
        config: config_copy,
        policy: policy_copy,
    };
    let mut file = files::private_file(&dir.join(MANIFEST))?;
    serde_json::to_writer_pretty(&mut file, &manifest)?;
    file.sync_all()?;
    Ok(manifest)
}

fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} is not a steward backup: cannot read {}", dir.display(), path.display()))?;
    let manifest: Manifest =
        serde_json::from_str(&text).with_context(|| format!("{} is not a backup manifest", path.display()))?;
    if manifest.format != FORMAT {
        bail!("{} is backup format {}; this steward reads format {FORMAT}", dir.display(), manifest.format);
    }
    Ok(manifest)
}

/// The database files (`steward.db`, its WAL and shared memory), moved
/// together so the WAL's commits stay with their database.
fn move_aside(db: &Path) -> anyhow::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let aside = db.with_file_name(format!("{DATABASE}.before-restore-{stamp}"));
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", db.display()));
        if from.exists() {
            let to = PathBuf::from(format!("{}{suffix}", aside.display()));
            std::fs::rename(&from, &to).with_context(|| format!("cannot move {} aside", from.display()))?;
        }
    }
    Ok(aside)
}

pub async fn restore(config: &Config, dir: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let manifest = read_manifest(dir)?;
    let source = dir.join(DATABASE);
    let anchored = anchor::read(&dir.join(anchor::FILE)).map_err(anyhow::Error::msg)?;
    let claimed: Option<Head> = manifest
        .audit_head
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| anyhow!("the manifest's audit_head: {e}"))?;
    if anchored != claimed {
        bail!(
            "the backup's {} and its manifest disagree about the audit head; it was changed after it was taken",
            anchor::FILE
        );
    }
    let pool = read_only(&source).await?;
    let head = checked_chain(&pool, anchored.as_ref()).await.context("the backup is refused")?;
    pool.close().await;
    if head != anchored {
        bail!("the backup's audit chain goes on past its anchor; it was changed after it was taken");
    }
    // Held until the restore is done: no server starts on a half-copied database.
    let _lock =
        lock_data_dir(config).context("restore needs the data directory to itself: stop `steward serve` first")?;
    let db = config.database_path();
    let aside = match db.exists() {
        true if !force => bail!(
            "{} already holds a database: restore into an empty data directory, or pass --force to move it aside",
            config.data_dir.display()
        ),
        true => Some(move_aside(&db)?),
        false => None,
    };
    let partial = db.with_file_name(format!("{DATABASE}.restoring"));
    copy_private(&source, &partial)?;
    std::fs::rename(&partial, &db).with_context(|| format!("cannot put the database at {}", db.display()))?;
    let anchor_file = config.data_dir.join(anchor::FILE);
    match &head {
        Some(head) => anchor::write(&anchor_file, head, true)?,
        None => {
            let _ = std::fs::remove_file(&anchor_file);
        }
    }
    // Derived data: rebuilt from the restored records when serve starts.
    let vectors = config.data_dir.join("vectors");
    if vectors.exists() {
        std::fs::remove_dir_all(&vectors).with_context(|| format!("cannot clear {}", vectors.display()))?;
    }
    std::fs::File::open(&config.data_dir)?.sync_all()?;
    println!(
        "restored {} records and {} intents (taken {}) into {}",
        manifest.records,
        manifest.intents,
        manifest.taken_at,
        config.data_dir.display()
    );
    if let Some(aside) = aside {
        println!("the database that was there is kept as {}", aside.display());
    }
    println!("vectors are rebuilt from the records when `steward serve` starts");
    let kept: Vec<&str> = manifest.config.iter().chain(&manifest.policy).map(String::as_str).collect();
    if !kept.is_empty() {
        println!("{} from the backup stay in {}: copy them where you keep yours", kept.join(" and "), dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
