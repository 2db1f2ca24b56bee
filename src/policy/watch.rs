//! The policy in force, shared, and reloaded when its file changes. A file
//! that no longer parses is refused (logged with its line and reason) and
//! the previous policy stays in force.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Policy, PolicyError, Vocabulary};

/// Cheap to clone; readers get the policy in force at that moment.
#[derive(Clone)]
pub struct PolicyHandle {
    current: Arc<RwLock<Arc<Policy>>>,
    /// Why the file on disk was last refused, while it still is.
    refused: Arc<RwLock<Option<String>>>,
    /// What a reloaded file may name.
    vocabulary: Arc<Vocabulary>,
}

impl PolicyHandle {
    pub fn new(policy: Policy) -> Self {
        Self { current: Arc::new(RwLock::new(Arc::new(policy))), refused: Arc::default(), vocabulary: Arc::default() }
    }

    /// Why the policy file was refused, if the one on disk does not parse.
    pub fn refused(&self) -> Option<String> {
        self.refused.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_refused(&self, why: Option<String>) {
        *self.refused.write().unwrap_or_else(|e| e.into_inner()) = why;
    }

    pub fn get(&self) -> Arc<Policy> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, policy: Policy) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(policy);
    }

    /// Loads `path`, or the built-in policy when there is none; a file must
    /// name only what `vocabulary` knows, now and at every reload.
    pub fn load(path: Option<&Path>, vocabulary: Vocabulary) -> Result<Self, (PathBuf, PolicyError)> {
        let policy = match path {
            None => Policy::builtin(),
            Some(p) => read(p, &vocabulary).map_err(|e| (p.to_owned(), e))?,
        };
        Ok(Self { vocabulary: Arc::new(vocabulary), ..Self::new(policy) })
    }

    /// Polls the file every `every` and swaps in a new version when it
    /// parses; a broken one is refused and logged.
    pub async fn watch(self, path: PathBuf, every: Duration, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            self.reload(&path);
        }
    }

    /// Reads the file once: a new version replaces the policy in force; a
    /// broken file is refused (logged once, and reported by `refused`).
    pub fn reload(&self, path: &Path) {
        match read(path, &self.vocabulary) {
            Ok(p) => {
                self.set_refused(None);
                if p.version != self.get().version {
                    tracing::info!(path = %path.display(), version = %p.version, "policy reloaded");
                    self.set(p);
                }
            }
            Err(e) => {
                let why = e.to_string();
                if self.refused().as_deref() != Some(why.as_str()) {
                    let in_force = self.get().version.clone();
                    tracing::error!(path = %path.display(), error = %why, %in_force, "policy file refused; the previous policy stays in force");
                }
                self.set_refused(Some(why));
            }
        }
    }
}

/// Reads and parses a policy file, and checks the names its rules use.
pub fn read(path: &Path, vocabulary: &Vocabulary) -> Result<Policy, PolicyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| PolicyError { line: None, reason: format!("cannot read it: {e}") })?;
    let policy = Policy::parse(&text)?;
    vocabulary.check(&text)?;
    Ok(policy)
}
