//! The API bearer token: configured, or generated once for loopback use.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use secrecy::SecretString;

use crate::config::Config;

/// Where steward keeps the token it generated when none was configured.
pub fn api_token_path(data_dir: &Path) -> PathBuf {
    data_dir.join("api_token")
}

/// The token every `/v1` request must present. Without a configured one,
/// steward listens on loopback only and generates a token into the data
/// directory (mode 0600), so local tools can read it and nothing on the
/// network can reach the API unauthenticated.
pub(super) fn resolve(config: &Config, addr: SocketAddr) -> anyhow::Result<SecretString> {
    if let Some(token) = &config.http.token {
        return Ok(token.clone());
    }
    if !addr.ip().is_loopback() {
        bail!(
            "refusing to listen on {addr} without an API token: set STEWARD_API_TOKEN or http.token_file, \
             or listen on 127.0.0.1"
        );
    }
    let path = api_token_path(&config.data_dir);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.trim().is_empty() {
            return Ok(SecretString::from(existing.trim().to_owned()));
        }
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    write_private(&path, &token)
        .with_context(|| format!("cannot write the generated API token to {}", path.display()))?;
    tracing::warn!(path = %path.display(), "no API token configured; generated one (loopback only)");
    Ok(SecretString::from(token))
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        crate::store::files::private_dir(dir)?;
    }
    crate::store::files::private_file(path)?.write_all(content.as_bytes())
}
