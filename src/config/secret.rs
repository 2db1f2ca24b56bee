//! Reading a secret from its `*_file` path when it was not given inline.

use std::path::PathBuf;

use secrecy::SecretString;

use super::ConfigError;

/// Fills `value` from `file` when only the file is given. The file's content
/// is trimmed of surrounding white space (a trailing newline is the norm).
/// Errors name the key and the path, never the content.
pub(super) fn resolve(key: &str, value: &mut Option<SecretString>, file: &Option<PathBuf>) -> Result<(), ConfigError> {
    let Some(path) = file else { return Ok(()) };
    if value.is_some() {
        return Ok(());
    }
    let content = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
        key: format!("{key}_file"),
        path: path.clone(),
        source,
    })?;
    let trimmed = content.trim();
    if !trimmed.is_empty() {
        *value = Some(SecretString::from(trimmed.to_owned()));
    }
    Ok(())
}

/// Whether `given` is the secret. Compares digests rather than the strings,
/// so the time taken does not reveal how much of a guess was right.
pub fn matches(expected: &SecretString, given: &str) -> bool {
    use secrecy::ExposeSecret;
    use sha2::{Digest, Sha256};
    let a = Sha256::digest(expected.expose_secret().as_bytes());
    let b = Sha256::digest(given.as_bytes());
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
