//! Agent roles: `prompts/*.md` files with TOML front matter between `+++`
//! lines (name, tier, allowed adapters, memory scopes, a timeout as SLA) and
//! the prompt as body. A role's version is the hash of its whole file, so
//! any edit, front matter or prompt, is a new version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::Scope;

/// The roles steward ships, used when no prompts directory is configured.
const BUILTIN: [(&str, &str); 4] = [
    ("planner.md", include_str!("../../prompts/planner.md")),
    ("researcher.md", include_str!("../../prompts/researcher.md")),
    ("executor.md", include_str!("../../prompts/executor.md")),
    ("qa.md", include_str!("../../prompts/qa.md")),
];
/// The roles the pipeline needs; a prompts directory must define them all.
pub const REQUIRED: [&str; 4] = ["planner", "researcher", "executor", "qa"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelTier {
    Fast,
    Deep,
}

impl ModelTier {
    /// The reasoning tier number a model of this kind serves.
    pub fn number(self) -> u8 {
        match self {
            Self::Fast => 2,
            Self::Deep => 3,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Front {
    name: String,
    tier: ModelTier,
    #[serde(default)]
    adapters: Vec<String>,
    #[serde(default)]
    memory_read: Vec<String>,
    #[serde(default)]
    memory_write: Vec<String>,
    timeout_secs: u64,
    #[serde(default)]
    description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Role {
    pub name: String,
    pub description: String,
    pub tier: ModelTier,
    /// Adapters this role may put in a plan.
    pub adapters: Vec<String>,
    pub memory_read: Vec<Scope>,
    pub memory_write: Vec<Scope>,
    /// The SLA: the whole call, retries included, must finish within it.
    #[serde(with = "secs")]
    pub timeout: Duration,
    /// The first 12 hex digits of the file's SHA-256.
    pub version: String,
    pub file: String,
    #[serde(skip)]
    pub prompt: String,
}

mod secs {
    pub fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("role file {file}: {reason}")]
pub struct RoleError {
    pub file: String,
    pub reason: String,
}

fn scopes(file: &str, field: &str, raw: &[String]) -> Result<Vec<Scope>, RoleError> {
    raw.iter()
        .map(|s| Scope::parse(s).map_err(|e| RoleError { file: file.into(), reason: format!("{field}: {}", e.reason) }))
        .collect()
}

impl Role {
    /// Parses one role file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, RoleError> {
        let err = |reason: String| RoleError { file: file.to_owned(), reason };
        let rest = text
            .strip_prefix("+++\n")
            .or_else(|| text.strip_prefix("+++\r\n"))
            .ok_or_else(|| err("must start with a `+++` line opening the TOML front matter".into()))?;
        let end = rest.find("\n+++").ok_or_else(|| err("the front matter is not closed by a `+++` line".into()))?;
        let front: Front = toml::from_str(&rest[..end]).map_err(|e| err(format!("front matter: {}", e.message())))?;
        let prompt = rest[end + 4..].trim().to_owned();
        if front.name.trim().is_empty()
            || !front.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(err(format!("name `{}` must be letters, digits, `-` or `_`", front.name)));
        }
        if prompt.is_empty() {
            return Err(err("the prompt (the text after the front matter) is empty".into()));
        }
        if !(1..=3600).contains(&front.timeout_secs) {
            return Err(err(format!("timeout_secs = {} must be between 1 and 3600", front.timeout_secs)));
        }
        Ok(Self {
            memory_read: scopes(file, "memory_read", &front.memory_read)?,
            memory_write: scopes(file, "memory_write", &front.memory_write)?,
            name: front.name,
            description: front.description,
            tier: front.tier,
            adapters: front.adapters,
            timeout: Duration::from_secs(front.timeout_secs),
            version: hex::encode(&Sha256::digest(text.as_bytes())[..6]),
            file: file.to_owned(),
            prompt,
        })
    }

    /// Whether a plan by this role may use `adapter`.
    pub fn may_use(&self, adapter: &str) -> bool {
        self.adapters.iter().any(|a| a == adapter || a == "*")
    }
}

/// The loaded roles, by name.
#[derive(Debug, Clone)]
pub struct Roles {
    roles: BTreeMap<String, Role>,
}

impl Roles {
    pub fn builtin() -> Self {
        let roles = BUILTIN.iter().map(|(file, text)| Role::parse(file, text).expect("built-in roles parse"));
        Self { roles: roles.map(|r| (r.name.clone(), r)).collect() }
    }

    /// Loads every `*.md` file of `dir` except `README.md`. A malformed file,
    /// two files with one name, or a missing required role is refused.
    pub fn load(dir: &Path) -> Result<Self, RoleError> {
        let entries = std::fs::read_dir(dir).map_err(|e| RoleError {
            file: dir.display().to_string(),
            reason: format!("cannot read the directory: {e}"),
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "md") && p.file_name().is_some_and(|n| n != "README.md"))
            .collect();
        files.sort();
        let mut roles = BTreeMap::new();
        for path in files {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| RoleError { file: file.clone(), reason: format!("cannot read: {e}") })?;
            let role = Role::parse(&file, &text)?;
            if let Some(other) = roles.get(&role.name) {
                let other: &Role = other;
                return Err(RoleError {
                    file,
                    reason: format!("role `{}` is also defined in {}", role.name, other.file),
                });
            }
            roles.insert(role.name.clone(), role);
        }
        for name in REQUIRED {
            if !roles.contains_key(name) {
                return Err(RoleError {
                    file: dir.display().to_string(),
                    reason: format!("no role named `{name}`; the pipeline needs {}", REQUIRED.join(", ")),
                });
            }
        }
        Ok(Self { roles })
    }

    pub fn get(&self, name: &str) -> &Role {
        // Both constructors guarantee the required roles exist.
        &self.roles[name]
    }

    pub fn all(&self) -> impl Iterator<Item = &Role> {
        self.roles.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "+++\nname = \"x\"\ntier = \"fast\"\nadapters = [\"note\"]\nmemory_read = [\"operator\"]\ntimeout_secs = 5\n+++\nDo it.\n";

    #[test]
    fn a_role_parses_and_its_version_follows_its_content() {
        let role = Role::parse("x.md", OK).unwrap();
        assert_eq!((role.name.as_str(), role.tier, role.timeout), ("x", ModelTier::Fast, Duration::from_secs(5)));
        assert!(role.may_use("note") && !role.may_use("webhook"));
        assert_eq!(role.prompt, "Do it.");
        let edited = Role::parse("x.md", &OK.replace("Do it.", "Do it well.")).unwrap();
        assert_ne!(role.version, edited.version);
    }

    #[test]
    fn malformed_roles_are_refused_with_the_file_and_the_reason() {
        for (text, why) in [
            ("name = \"x\"", "must start with"),
            ("+++\nname = \"x\"\n", "not closed"),
            ("+++\nname = \"x\"\ntier = \"huge\"\ntimeout_secs = 5\n+++\nhi", "front matter"),
            ("+++\nname = \"x\"\ntier = \"fast\"\ntimeout_secs = 5\nextra = 1\n+++\nhi", "unknown field"),
            ("+++\nname = \"x\"\ntier = \"fast\"\ntimeout_secs = 5\n+++\n  ", "prompt"),
            ("+++\nname = \"x\"\ntier = \"fast\"\ntimeout_secs = 0\n+++\nhi", "timeout_secs"),
            (
                "+++\nname = \"x\"\ntier = \"fast\"\nmemory_read = [\"Bad Scope\"]\ntimeout_secs = 5\n+++\nhi",
                "memory_read",
            ),
        ] {
            let err = Role::parse("bad.md", text).unwrap_err();
            assert_eq!(err.file, "bad.md");
            assert!(err.reason.contains(why), "{why}: {err}");
        }
    }

    #[test]
    fn the_shipped_roles_load() {
        let roles = Roles::builtin();
        for name in REQUIRED {
            assert_eq!(roles.get(name).name, name);
        }
        assert_eq!(roles.get("planner").tier, ModelTier::Deep);
    }
}
