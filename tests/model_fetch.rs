//! `steward model fetch` against a hub stand-in on loopback: the model lands
//! in the data directory with every file checked against the hub's
//! checksum, and steward loads it from there on a machine with no other
//! copy; a file that does not match its checksum is refused and removed.

mod helpers;
#[path = "support/hf_hub.rs"]
mod hf_hub;

use std::path::Path;

use helpers::{ServeProcess, TOKEN, stderr, stdout, steward};
use hf_hub::FakeHub;
use serde_json::Value;

/// A machine with no copy of the model but the data directory's: no hub
/// cache in HOME, no Python package on PATH.
fn bare(cmd: &mut std::process::Command, home: &Path) {
    cmd.env("HOME", home).env_remove("HF_HOME").env("PATH", "/usr/bin:/bin");
}

fn fetch(data: &Path, home: &Path, hub: &FakeHub) -> std::process::Output {
    let mut cmd = steward();
    bare(&mut cmd, home);
    cmd.arg("--data-dir").arg(data).args(["model", "fetch", "--endpoint", &hub.url()]).output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetched_model_is_checked_and_then_found_in_the_data_directory() {
    let hub = FakeHub::start(false).await;
    let dir = tempfile::tempdir().unwrap();
    let (data, home) = (dir.path().join("data"), dir.path().join("home"));
    std::fs::create_dir_all(&home).unwrap();
    let out = fetch(&data, &home, &hub);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("model.safetensors: sha256") && said.contains("verified"), "{said}");
    assert!(said.contains("tokenizer.json: git blob sha1"), "{said}");

    // Found there, and only there, by a server on this bare machine.
    let mut serve_env = vec![("STEWARD_EMBEDDING__BACKEND", "minilm"), ("STEWARD_API_TOKEN", TOKEN)];
    let home_s = home.to_str().unwrap().to_owned();
    serve_env.extend([("HOME", home_s.as_str()), ("PATH", "/usr/bin:/bin")]);
    let serve = ServeProcess::start(&data, &serve_env);
    let ready = format!("http://{}/readyz", serve.addr);
    helpers::until("the model is loaded", || async {
        let r: Value = reqwest::get(&ready).await.unwrap().json().await.unwrap();
        r["checks"]["embedding"] == "minilm"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_does_not_match_its_checksum_is_refused_and_removed() {
    let hub = FakeHub::start(true).await;
    let dir = tempfile::tempdir().unwrap();
    let (data, home) = (dir.path().join("data"), dir.path().join("home"));
    std::fs::create_dir_all(&home).unwrap();
    let out = fetch(&data, &home, &hub);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("model.safetensors") && err.contains("refused") && err.contains("sha256"), "{err}");
    let blobs = data.join("models/hub/models--sentence-transformers--all-MiniLM-L6-v2/blobs");
    let left: Vec<_> = std::fs::read_dir(&blobs).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.iter().all(|n| n.len() != 64), "the refused blob is gone: {left:?}");
    // Nothing half-fetched passes for the model.
    let mut doctor = steward();
    bare(&mut doctor, &home);
    let checked = doctor.arg("--data-dir").arg(&data).args(["doctor", "--json"]).output().unwrap();
    let parts: Value = serde_json::from_slice(&checked.stdout).unwrap();
    let embedding = parts.as_array().unwrap().iter().find(|c| c["part"] == "embedding").unwrap();
    assert!(embedding.to_string().contains("steward model fetch"), "doctor suggests it: {embedding}");
}
