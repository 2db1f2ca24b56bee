//! The workflows in force: every `*.toml` file in `workflows.dir`, reloaded
//! when it changes. A file that no longer parses is refused with its line
//! and reason, and the version in force stays in force, as the policy file
//! does. A file that goes away takes its workflow with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::definition::{DefinitionError, TriggerKind, Workflow};
use crate::adapters::{Catalog, Secrets};
use crate::config::SecretString;

/// Largest workflow file read.
const MAX_FILE: u64 = 256 * 1024;

/// One file as last read.
#[derive(Debug, Clone)]
struct Read {
    hash: String,
    /// The version in force from this file, if any version ever parsed.
    in_force: Option<Workflow>,
    /// Why the file on disk is refused, while it is.
    refused: Option<DefinitionError>,
}

#[derive(Debug, Clone, Default)]
struct State {
    files: BTreeMap<PathBuf, Read>,
}

/// Cheap to clone; readers see the workflows in force at that moment.
#[derive(Clone)]
pub struct Library {
    dir: Option<PathBuf>,
    catalog: Catalog,
    /// The named secrets webhook triggers verify signatures with.
    secrets: Secrets,
    state: Arc<RwLock<Arc<State>>>,
    /// Wakes whoever moves runs on: an intent ended, an event arrived.
    progress: Arc<tokio::sync::Notify>,
    /// Reminders asked for from chat, as workflows (the scheduler keeps
    /// them current), and what wakes the scheduler when one is added.
    reminders: Arc<RwLock<Arc<Vec<Workflow>>>>,
    nudge: Arc<tokio::sync::Notify>,
    /// The operator's time zone: reminders are read in it.
    zone: chrono_tz::Tz,
    /// Workflows steward defines from its configuration (a digest per
    /// `[[schedules]]` entry): listed, run and paused like the files, and
    /// their names are not free for a file.
    builtins: Arc<Vec<Workflow>>,
}

impl Library {
    /// Reads `dir` (none: no workflows). Refused files are reported by
    /// [`Library::refused`], never fatal: the others still load.
    pub fn load(dir: Option<&Path>, catalog: Catalog, secrets: Secrets) -> Self {
        let lib = Self {
            dir: dir.map(Path::to_owned),
            catalog,
            secrets,
            state: Arc::default(),
            progress: Arc::default(),
            reminders: Arc::default(),
            nudge: Arc::default(),
            zone: chrono_tz::Tz::UTC,
            builtins: Arc::default(),
        };
        lib.reload();
        lib
    }

    /// With these built-in workflows. A file that takes one of their names
    /// is refused.
    pub fn with_builtins(mut self, builtins: Vec<Workflow>) -> Self {
        self.builtins = Arc::new(builtins);
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = Arc::default();
        self.reload();
        self
    }

    fn state(&self) -> Arc<State> {
        self.state.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every workflow in force, by name.
    pub fn all(&self) -> Vec<Workflow> {
        let mut by_name: BTreeMap<String, Workflow> =
            self.builtins.iter().map(|w| (w.name.clone(), w.clone())).collect();
        for read in self.state().files.values() {
            if let Some(w) = &read.in_force {
                by_name.entry(w.name.clone()).or_insert_with(|| w.clone());
            }
        }
        by_name.into_values().collect()
    }

    pub fn get(&self, name: &str) -> Option<Workflow> {
        self.all().into_iter().find(|w| w.name == name)
    }

    /// The files on disk that are refused, with why.
    pub fn refused(&self) -> Vec<(PathBuf, DefinitionError)> {
        self.state().files.iter().filter_map(|(p, r)| r.refused.clone().map(|e| (p.clone(), e))).collect()
    }

    /// In the operator's time zone (reminders are read in it).
    pub fn in_zone(mut self, zone: chrono_tz::Tz) -> Self {
        self.zone = zone;
        self
    }

    pub fn zone(&self) -> chrono_tz::Tz {
        self.zone
    }

    /// Every workflow the scheduler runs: the files in force and the
    /// reminders.
    pub fn scheduled(&self) -> Vec<Workflow> {
        let mut all = self.all();
        all.extend(self.reminders.read().unwrap_or_else(|e| e.into_inner()).iter().cloned());
        all
    }

    /// The reminders as they are now (the scheduler reads them from the
    /// store at each tick).
    pub fn set_reminders(&self, reminders: Vec<Workflow>) {
        *self.reminders.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(reminders);
    }

    /// What wakes the scheduler: a reminder was added or cancelled.
    pub fn nudge(&self) -> Arc<tokio::sync::Notify> {
        self.nudge.clone()
    }

    /// What wakes the runs' progress ([`super::progress::run`]).
    pub fn progress(&self) -> Arc<tokio::sync::Notify> {
        self.progress.clone()
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The secret a webhook trigger names.
    pub fn secret(&self, name: &str) -> Option<&SecretString> {
        self.secrets.get(name)
    }

    /// A webhook trigger's secret must be configured, or the file is
    /// refused: a trigger that can never verify a delivery is a mistake.
    fn check_secrets(&self, w: &Workflow) -> Result<(), DefinitionError> {
        for t in &w.triggers {
            if let TriggerKind::Webhook { secret, .. } = &t.kind {
                if self.secrets.get(secret).is_none() {
                    return Err(DefinitionError {
                        line: None,
                        reason: format!(
                            "trigger `{}`: the secret `{secret}` is not configured (set STEWARD_SECRETS__{} or secret_files.{secret})",
                            t.name,
                            secret.to_ascii_uppercase()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Reads the directory once: changed files are parsed again; a new
    /// version replaces the one in force, a broken one is refused (logged
    /// once) and the one in force stays.
    pub fn reload(&self) {
        let Some(dir) = &self.dir else { return };
        let old = self.state();
        let mut next = State::default();
        for path in files_in(dir) {
            let text = match read_capped(&path) {
                Ok(t) => t,
                Err(why) => {
                    let refused = DefinitionError { line: None, reason: why };
                    let in_force = old.files.get(&path).and_then(|r| r.in_force.clone());
                    next.files.insert(path, Read { hash: String::new(), in_force, refused: Some(refused) });
                    continue;
                }
            };
            let hash = hex::encode(Sha256::digest(text.as_bytes()));
            // An unchanged file keeps its reading, unless it was refused
            // (its name may have been freed since).
            if let Some(before) = old.files.get(&path).filter(|r| r.hash == hash && r.refused.is_none()) {
                next.files.insert(path, before.clone());
                continue;
            }
            let offers = |adapter: &str, action: &str| self.catalog.offers(adapter, action);
            let parsed = Workflow::parse(&text, &offers).and_then(|w| self.check_secrets(&w).map(|()| w)).and_then(
                |w| match next.files.iter().find(|(_, r)| r.in_force.as_ref().is_some_and(|o| o.name == w.name)) {
                    Some((other, _)) => Err(DefinitionError {
                        line: None,
                        reason: format!("the name `{}` is taken by {}", w.name, other.display()),
                    }),
                    None if self.builtins.iter().any(|b| b.name == w.name) => Err(DefinitionError {
                        line: None,
                        reason: format!("the name `{}` is steward's own ({})", w.name, w.description),
                    }),
                    None => Ok(w),
                },
            );
            let previous = old.files.get(&path).and_then(|r| r.in_force.clone());
            let read = match parsed {
                Ok(w) => {
                    if previous.as_ref().is_none_or(|p| p.version != w.version) {
                        tracing::info!(path = %path.display(), workflow = %w.name, version = %w.version, "workflow loaded");
                    }
                    Read { hash, in_force: Some(w), refused: None }
                }
                Err(e) => {
                    let in_force = previous.as_ref().map_or("none".to_owned(), |p| p.version.clone());
                    let told = old.files.get(&path).and_then(|r| r.refused.as_ref()) == Some(&e);
                    if !told {
                        tracing::error!(path = %path.display(), error = %e, %in_force, "workflow file refused; the version in force stays");
                    }
                    Read { hash, in_force: previous, refused: Some(e) }
                }
            };
            next.files.insert(path, read);
        }
        for gone in old.files.keys().filter(|p| !next.files.contains_key(*p)) {
            tracing::info!(path = %gone.display(), "workflow file removed");
        }
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
    }

    /// Reloads every `every` until `shutdown`.
    pub async fn watch(self, every: Duration, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            let lib = self.clone();
            // Parsing is quick, but reading files blocks.
            if tokio::task::spawn_blocking(move || lib.reload()).await.is_err() {
                tracing::error!("reloading workflows panicked; the versions in force stay");
            }
        }
    }
}

/// The `*.toml` files directly in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    files.sort();
    files
}

fn read_capped(path: &Path) -> Result<String, String> {
    let len = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?.len();
    if len > MAX_FILE {
        return Err(format!("the file is larger than {} KiB", MAX_FILE / 1024));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))
}
