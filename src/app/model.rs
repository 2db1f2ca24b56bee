//! `steward model fetch`: downloads all-MiniLM-L6-v2 from the Hugging Face
//! hub (through the `hf-hub` client, with a progress bar) into the data
//! directory's hub cache, where steward finds it, and checks every file
//! against the checksum the hub gave for it: for a large (LFS) file its
//! SHA-256, for a small one its git blob SHA-1. A file that does not match
//! is deleted and the command fails.
//!
//! `HF_ENDPOINT` (or `--endpoint`) points it at a mirror; `HF_TOKEN` is
//! sent when set.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::memory::embed::{MINILM_FILES, MINILM_REPO, data_dir_cache};

pub async fn fetch(config: &Config, endpoint: Option<String>, revision: &str) -> anyhow::Result<ExitCode> {
    let cache = data_dir_cache(&config.data_dir);
    crate::store::files::private_dir(&cache).with_context(|| format!("cannot create {}", cache.display()))?;
    let mut builder = hf_hub::api::tokio::ApiBuilder::from_env()
        .with_cache_dir(cache.clone())
        .with_progress(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_user_agent("steward", env!("CARGO_PKG_VERSION"));
    if let Some(url) = endpoint {
        builder = builder.with_endpoint(url.trim_end_matches('/').to_owned());
    }
    let api = builder.build().map_err(|e| anyhow!("cannot set up the hub client: {e}"))?;
    let repo =
        api.repo(hf_hub::Repo::with_revision(MINILM_REPO.to_owned(), hf_hub::RepoType::Model, revision.to_owned()));
    let mut dir = None;
    for file in MINILM_FILES {
        let path = repo.download(file).await.map_err(|e| {
            anyhow!("cannot download {file} of {MINILM_REPO}: {e}; is the hub (or HF_ENDPOINT) reachable?")
        })?;
        let checked = verify(&path).map_err(|e| {
            discard(&path);
            e.context(format!("{file} of {MINILM_REPO} was refused"))
        })?;
        println!("{file}: {checked}");
        dir = path.parent().map(Path::to_path_buf);
    }
    let dir = dir.ok_or_else(|| anyhow!("nothing was downloaded"))?;
    println!("all-MiniLM-L6-v2 is in {}; steward finds it there (restart a running serve)", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// The downloaded file against the checksum it is stored under (the hub's
/// ETag, which names the blob the snapshot's file points at).
fn verify(path: &Path) -> anyhow::Result<String> {
    let blob = std::fs::canonicalize(path)?;
    let expected = blob.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
    let mut file = std::fs::File::open(&blob)?;
    let len = file.metadata()?.len();
    let (mut sha256, mut sha1) = (Sha256::new(), GitSha1::new(len));
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha256.update(&buf[..n]);
        sha1.update(&buf[..n]);
    }
    let (sha256, sha1) = (hex::encode(sha256.finalize()), sha1.finish());
    match expected.len() {
        64 if sha256 == expected => Ok(format!("sha256 {sha256} verified")),
        40 if sha1 == expected => Ok(format!("git blob sha1 {sha1} verified")),
        64 => bail!("its sha256 is {sha256}, the hub said {expected}"),
        40 => bail!("its git blob sha1 is {sha1}, the hub said {expected}"),
        _ => bail!("the hub gave no checksum for it (ETag `{expected}`), so it cannot be verified"),
    }
}

/// Removes a refused download: the snapshot's link and the blob behind it.
fn discard(path: &Path) {
    if let Ok(blob) = std::fs::canonicalize(path) {
        let _ = std::fs::remove_file(blob);
    }
    let _ = std::fs::remove_file(path);
}

/// Git's blob id, which the hub gives as the checksum of a small file:
/// SHA-1 of `blob LEN\0` and the content.
struct GitSha1 {
    state: sha1::Sha1,
}

impl GitSha1 {
    fn new(len: u64) -> Self {
        let mut state = sha1::Sha1::new();
        state.update(format!("blob {len}\0").as_bytes());
        Self { state }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.state.update(bytes);
    }

    fn finish(self) -> String {
        hex::encode(self.state.finalize())
    }
}
