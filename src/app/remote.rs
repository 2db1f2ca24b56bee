//! The running server, for CLI commands that would otherwise open the data
//! directory `steward serve` holds: `serve` writes where it listens to
//! `serve.url` in the data directory (and removes it when it stops), and
//! such a command talks to that address with the API token instead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::config::Config;

fn url_path(config: &Config) -> PathBuf {
    config.data_dir.join("serve.url")
}

/// `serve.url` while the server runs; removed when this is dropped.
pub struct Announced(PathBuf);

impl Drop for Announced {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes where the server listens, as this machine reaches it.
pub(super) fn announce(config: &Config, addr: SocketAddr) -> anyhow::Result<Announced> {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let path = url_path(config);
    std::fs::write(&path, format!("http://{}\n", SocketAddr::new(ip, addr.port())))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Announced(path))
}

/// A client of the running server's API.
pub struct Remote {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Remote {
    /// The server that holds the data directory, found by its `serve.url`.
    pub fn find(config: &Config) -> anyhow::Result<Self> {
        let path = url_path(config);
        let base = std::fs::read_to_string(&path)
            .map_err(|_| {
                anyhow!("the data directory is locked, but {} says nowhere to reach its server", path.display())
            })?
            .trim()
            .to_owned();
        let token = match &config.http.token {
            Some(t) => t.expose_secret().to_owned(),
            None => {
                let file = super::api_token_path(&config.data_dir);
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read the API token ({}); set STEWARD_API_TOKEN", file.display()))?
                    .trim()
                    .to_owned()
            }
        };
        let client = reqwest::Client::builder().timeout(Duration::from_secs(300)).build()?;
        Ok(Self { base, token, client })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let res = req.bearer_auth(&self.token).send().await.with_context(|| format!("cannot reach {}", self.base))?;
        self.check(res).await
    }

    /// The answer's JSON, or its error as a sentence.
    async fn check(&self, res: reqwest::Response) -> anyhow::Result<Value> {
        let status = res.status();
        let body: Value = if status == reqwest::StatusCode::NO_CONTENT { Value::Null } else { res.json().await? };
        if !status.is_success() {
            let why = body["error"]["message"].as_str().map_or_else(|| body.to_string(), str::to_owned);
            bail!("the running steward answered {status}: {why}");
        }
        Ok(body)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.post_with(path, body, &[]).await
    }

    /// POSTs with extra headers (an `Idempotency-Key`, say).
    pub async fn post_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> anyhow::Result<Value> {
        let mut req = self.client.post(format!("{}{path}", self.base)).json(body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.send(req).await
    }

    /// Deletes what `path` names; false when there was nothing there.
    pub async fn delete(&self, path: &str) -> anyhow::Result<bool> {
        let req = self.client.delete(format!("{}{path}", self.base)).bearer_auth(&self.token);
        let res = req.send().await.with_context(|| format!("cannot reach {}", self.base))?;
        if res.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(false);
        }
        self.check(res).await.map(|_| true)
    }
}
