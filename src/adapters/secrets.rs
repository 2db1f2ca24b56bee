//! Secrets in plans, by name. A plan never holds a credential: it names one,
//! `{"$secret": "stripe", "prefix": "Bearer "}`, and the adapter puts the
//! value in only when the step runs. So the value never reaches the intent,
//! the outbox, an approval card, the log or memory. A credential written
//! into a plan's arguments is refused when the plan is checked, with how to
//! name a secret instead.
//!
//! Secrets come from the config: `secrets.NAME` (best from the environment,
//! `STEWARD_SECRETS__NAME`) or `secret_files.NAME`, a file holding it.

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::InvalidInput;

/// The named secrets steward may put into a request.
#[derive(Clone, Default)]
pub struct Secrets(Arc<BTreeMap<String, SecretString>>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl Secrets {
    pub fn new(named: BTreeMap<String, SecretString>) -> Self {
        Self(Arc::new(named))
    }

    /// The secret named `name`, if it is configured.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.0.get(name)
    }

    fn names(&self) -> String {
        if self.0.is_empty() {
            "none is configured".into()
        } else {
            format!("configured: {}", self.0.keys().cloned().collect::<Vec<_>>().join(", "))
        }
    }
}

/// A text argument: written out, or a secret named.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Text {
    Literal(String),
    Secret(SecretRef),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    #[serde(rename = "$secret")]
    pub name: String,
    /// Put before the value: `Bearer `, say.
    #[serde(default)]
    pub prefix: String,
}

impl Text {
    /// Checks that a named secret exists.
    pub fn check(&self, field: &str, secrets: &Secrets) -> Result<(), InvalidInput> {
        match self {
            Self::Literal(_) => Ok(()),
            Self::Secret(r) if secrets.0.contains_key(&r.name) => Ok(()),
            Self::Secret(r) => Err(InvalidInput::new(
                field,
                format!(
                    "no secret named `{}` ({}); add it as secrets.{} or secret_files.{}",
                    r.name,
                    secrets.names(),
                    r.name,
                    r.name
                ),
            )),
        }
    }

    /// The text to send, the secret put in. Only for the request itself:
    /// never stored, logged or shown.
    pub fn reveal(&self, secrets: &Secrets) -> Option<String> {
        match self {
            Self::Literal(s) => Some(s.clone()),
            Self::Secret(r) => secrets.0.get(&r.name).map(|v| format!("{}{}", r.prefix, v.expose_secret())),
        }
    }

    /// The secret's own value, without its prefix, to blot it out of
    /// what comes back.
    pub fn bare(&self, secrets: &Secrets) -> Option<String> {
        match self {
            Self::Literal(_) => None,
            Self::Secret(r) => secrets.0.get(&r.name).map(|v| v.expose_secret().to_owned()),
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, Self::Secret(_))
    }
}

/// Prefixes of API keys that say what they are.
const KEY_PREFIXES: [&str; 10] =
    ["sk_live_", "sk_test_", "rk_live_", "sk-", "ghp_", "gho_", "github_pat_", "xoxb-", "xoxp-", "AKIA"];

/// Whether a text looks like a credential: an `Authorization` scheme with a
/// value, or a key with a well-known prefix and a long tail.
pub fn looks_like_credential(s: &str) -> bool {
    let s = s.trim();
    let scheme = ["bearer ", "basic ", "token ", "bot "]
        .iter()
        .any(|p| s.len() > p.len() + 7 && s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)));
    let keyed = KEY_PREFIXES.iter().any(|p| {
        s.strip_prefix(p)
            .is_some_and(|rest| rest.len() >= 12 && rest.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)))
    });
    scheme || keyed
}

/// Header names that carry credentials: their values must be named secrets.
pub fn credential_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["authorization", "proxy-authorization", "cookie"].contains(&n.as_str())
        || ["token", "secret", "api-key", "apikey", "api_key", "password"].iter().any(|w| n.contains(w))
}

/// Refuses a plan whose arguments hold a credential anywhere, saying how to
/// name a secret instead.
pub fn refuse_written_credentials(field: &str, args: &Value) -> Result<(), InvalidInput> {
    match args {
        Value::String(s) if looks_like_credential(s) => Err(InvalidInput::new(
            field,
            "this looks like a credential written into the plan; name a secret instead: \
             {\"$secret\": \"NAME\", \"prefix\": \"Bearer \"}, with the value in secrets.NAME or secret_files.NAME",
        )),
        Value::Array(items) => {
            items.iter().enumerate().try_for_each(|(i, v)| refuse_written_credentials(&format!("{field}[{i}]"), v))
        }
        Value::Object(map) => map.iter().try_for_each(|(k, v)| refuse_written_credentials(&format!("{field}.{k}"), v)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_are_recognised_and_ordinary_text_is_not() {
        for key in [
            "Bearer abcdefgh12345678",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "ghp_0123456789abcdefghij",
            "Basic dXNlcjpwYXNzd29yZA==",
        ] {
            assert!(looks_like_credential(key), "{key}");
        }
        for text in ["Bearer", "the sk- prefix", "hello world", "Bearer me", "sk-short"] {
            assert!(!looks_like_credential(text), "{text}");
        }
        assert!(
            credential_header("Authorization") && credential_header("X-Api-Key") && credential_header("x-auth-token")
        );
        assert!(!credential_header("Content-Type"));
    }

    #[test]
    fn a_secret_is_named_checked_and_revealed_only_when_sent() {
        let secrets = Secrets::new([("stripe".to_owned(), SecretString::from("sk_live_x"))].into());
        let named: Text = serde_json::from_value(json!({"$secret": "stripe", "prefix": "Bearer "})).unwrap();
        assert!(named.check("h", &secrets).is_ok());
        assert_eq!(named.reveal(&secrets).as_deref(), Some("Bearer sk_live_x"));
        let unknown: Text = serde_json::from_value(json!({"$secret": "stripe2"})).unwrap();
        let err = unknown.check("h", &secrets).unwrap_err();
        assert!(err.reason.contains("configured: stripe") && !err.reason.contains("sk_live"), "{err}");
        assert!(!format!("{secrets:?}").contains("sk_live"));
        let nested = json!({"body": {"auth": ["x", "Bearer abcdefgh12345678"]}});
        assert_eq!(refuse_written_credentials("args", &nested).unwrap_err().field, "args.body.auth[1]");
    }
}
