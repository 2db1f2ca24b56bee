//! `steward import notes|telegram|discord|mbox PATH`: what the operator
//! already has, as records with their own dates and provenance, with a
//! progress bar and a summary of what was added, skipped and refused.
//! Importing again adds nothing; a note file edited since gets its changed
//! sections replaced, and nothing else changes. With `--prune`, the records
//! of note files no longer in the folder are forgotten too.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::memory_access::Access;
use super::print_json;
use crate::config::Config;
use crate::domain::{MemoryProvenance, NewMemory, Scope};
use crate::memory::import::{self, Item, MAX_FILE_BYTES, Read};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A folder of Markdown or text notes (read recursively).
    Notes,
    /// Telegram Desktop's JSON export (result.json).
    Telegram,
    /// A Discord channel exported by DiscordChatExporter as JSON.
    Discord,
    /// An mbox file.
    Mbox,
}

impl Format {
    fn channel(self) -> &'static str {
        match self {
            Self::Notes => "notes",
            Self::Telegram => "telegram-export",
            Self::Discord => "discord-export",
            Self::Mbox => "mbox",
        }
    }
}

/// One thing read: its items, and the source id prefix whose records it
/// replaces (a note file's), when it replaces any.
struct Unit {
    replaces: Option<String>,
    read: Read,
}

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub files: usize,
    pub added: usize,
    pub skipped: usize,
    /// Records of edited note sections, replaced by their new text.
    pub removed: usize,
    /// Records of note files no longer in the folder (`--prune`).
    pub pruned: usize,
    pub refused: usize,
    /// The first refusals: where, and why.
    pub refusals: Vec<(String, String)>,
}

/// How many refusals the summary lists.
const SHOWN: usize = 20;
/// Records sent at a time (the API takes up to 1,000).
const BATCH: usize = 500;

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
    if size > MAX_FILE_BYTES {
        bail!("{} is {size} bytes; an import reads files up to {MAX_FILE_BYTES} bytes", path.display());
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The note files under `dir`, hidden ones and folders left out, in order.
fn note_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("cannot read the folder {}", d.display()))? {
            let path = entry?.path();
            if path.file_name().and_then(|n| n.to_str()).is_none_or(|n| n.starts_with('.')) {
                continue;
            }
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| import::NOTE_EXTENSIONS.contains(&e)) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn units(format: Format, path: &Path) -> anyhow::Result<Vec<Unit>> {
    let name = path.display().to_string();
    if format != Format::Notes {
        let bytes = read_file(path)?;
        let read = match format {
            Format::Telegram => import::telegram(&name, &bytes),
            Format::Discord => import::discord(&name, &bytes),
            _ => import::mbox(&name, &bytes),
        };
        return Ok(vec![Unit { replaces: None, read }]);
    }
    if !path.is_dir() {
        bail!("{name} is not a folder: `steward import notes` reads a folder of .md and .txt files");
    }
    let mut out = Vec::new();
    for file in note_files(path)? {
        let rel = file.strip_prefix(path).unwrap_or(&file).to_string_lossy().replace('\\', "/");
        let modified = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64);
        let read = match read_file(&file).map(String::from_utf8) {
            Ok(Ok(text)) => import::note(&rel, &text, modified),
            Ok(Err(_)) => Read { items: vec![], refused: vec![(rel.clone(), "not UTF-8 text".into())] },
            Err(e) => Read { items: vec![], refused: vec![(rel.clone(), format!("{e:#}"))] },
        };
        out.push(Unit { replaces: Some(import::note_prefix(&rel)), read });
    }
    Ok(out)
}

fn record(format: Format, origin: &str, scope: &Scope, item: Item, now: i64) -> anyhow::Result<NewMemory> {
    let provenance = MemoryProvenance {
        actor: item.actor,
        channel: format.channel().into(),
        why: Some(format!("imported from {origin}")),
        ..Default::default()
    };
    let mut m = NewMemory::new(item.kind, &item.text, scope.clone(), provenance, now)?;
    m.meta = item.meta;
    m.occurred_at = item.occurred_at;
    m.source_id = Some(item.source_id);
    Ok(m)
}

/// Imports `path` into `scope` through `access`, showing progress unless
/// `quiet`; with `prune`, forgets the records of note files in `scope` that
/// the folder no longer has.
pub async fn run(
    access: &Access,
    format: Format,
    path: &Path,
    scope: &Scope,
    prune: bool,
    quiet: bool,
) -> anyhow::Result<Summary> {
    if prune && format != Format::Notes {
        bail!("--prune is for a notes folder: an export or mailbox is read whole, and has no files that go away");
    }
    let units = units(format, path)?;
    let walked: HashSet<String> = units.iter().filter_map(|u| u.replaces.clone()).collect();
    let total: usize = units.iter().map(|u| u.read.items.len()).sum();
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(total as u64) };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} records ({per_sec}, {eta} left)").expect("a valid template"),
    );
    let mut summary = Summary { files: units.len(), ..Default::default() };
    let origin = path.display().to_string();
    let now = access.now();
    for unit in units {
        for (at, why) in unit.read.refused {
            summary.refused += 1;
            if summary.refusals.len() < SHOWN {
                summary.refusals.push((at, why));
            }
        }
        let kept: HashSet<String> = unit.read.items.iter().map(|i| i.source_id.clone()).collect();
        let mut items = unit.read.items.into_iter().peekable();
        while items.peek().is_some() {
            let batch: Vec<NewMemory> = items
                .by_ref()
                .take(BATCH)
                .map(|i| record(format, &origin, scope, i, now))
                .collect::<anyhow::Result<_>>()?;
            let (_, new) = access.add(&batch).await?;
            summary.added += new;
            summary.skipped += batch.len() - new;
            bar.inc(batch.len() as u64);
        }
        if let Some(prefix) = unit.replaces {
            for (id, source) in access.sourced_under(scope, &prefix).await? {
                if !kept.contains(&source) && access.forget(&id, "import").await? {
                    summary.removed += 1;
                }
            }
        }
    }
    if prune {
        for (id, source) in access.sourced_under(scope, import::NOTES_SOURCE).await? {
            // A note's source id is its file's prefix and a hash (no `#`).
            let file = source.rfind('#').map(|i| &source[..=i]);
            if file.is_some_and(|f| !walked.contains(f)) && access.forget(&id, "import").await? {
                summary.pruned += 1;
            }
        }
    }
    bar.finish_and_clear();
    // What the batches left to the indexer, now: found by meaning at once.
    let embedding = if quiet { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
    embedding.set_message("embedding");
    access.settle(|| embedding.tick()).await?;
    embedding.finish_and_clear();
    Ok(summary)
}

/// `steward import FORMAT PATH [--scope S] [--json]`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    format: Format,
    /// The notes folder, or the export file.
    path: PathBuf,
    #[arg(long, default_value = "operator")]
    scope: String,
    /// Notes only: forget the records of files no longer in the folder (as
    /// imported into this scope before).
    #[arg(long)]
    prune: bool,
    #[arg(long)]
    json: bool,
}

pub async fn command(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let Args { format, path, scope, prune, json } = args;
    let path = path.as_path();
    let scope = Scope::parse(&scope)?;
    let access = Access::open(config).await?;
    let s = run(&access, format, path, &scope, prune, json).await?;
    if json {
        print_json(&s)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "imported {} ({} file(s)) into {}: {} added, {} skipped (imported before), {} replaced, {} pruned, {} refused",
        path.display(),
        s.files,
        scope.as_str(),
        s.added,
        s.skipped,
        s.removed,
        s.pruned,
        s.refused
    );
    for (at, why) in &s.refusals {
        println!("  refused {at}: {why}");
    }
    if s.refused > s.refusals.len() {
        println!("  … and {} more", s.refused - s.refusals.len());
    }
    Ok(ExitCode::SUCCESS)
}
