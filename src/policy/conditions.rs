//! Conditions on a step's arguments. `arg` is a dotted path into the
//! arguments (`body.amount`); the other key says what must hold of it.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub arg: String,
    /// The value is a number greater than this.
    #[serde(default)]
    pub gt: Option<f64>,
    /// The value is a number less than this.
    #[serde(default)]
    pub lt: Option<f64>,
    /// The value equals this.
    #[serde(default)]
    pub equals: Option<Value>,
    /// The value (an email address or a list of them) has a domain outside this list.
    #[serde(default)]
    pub domain_not_in: Option<Vec<String>>,
    /// The value (a URL) has a host outside this list.
    #[serde(default)]
    pub host_not_in: Option<Vec<String>>,
    /// The argument is present (true) or absent (false).
    #[serde(default)]
    pub exists: Option<bool>,
}

fn lookup<'a>(args: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(args, |v, key| v.get(key))
}

fn domain_of(address: &str) -> Option<String> {
    let addr = address.rsplit('<').next().unwrap_or(address).trim_end_matches('>').trim();
    addr.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase())
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => s.split(',').collect(),
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

impl Condition {
    /// Exactly one test per condition, so a typo cannot silently mean "always".
    pub(super) fn check(&self) -> Result<(), String> {
        let tests = [
            self.gt.is_some(),
            self.lt.is_some(),
            self.equals.is_some(),
            self.domain_not_in.is_some(),
            self.host_not_in.is_some(),
            self.exists.is_some(),
        ];
        match tests.iter().filter(|t| **t).count() {
            1 => Ok(()),
            0 => Err(format!(
                "condition on `{}` has no test (gt, lt, equals, domain_not_in, host_not_in, exists)",
                self.arg
            )),
            _ => Err(format!("condition on `{}` has more than one test; write one condition per test", self.arg)),
        }
    }

    /// Whether it holds of these arguments. A missing or mistyped value
    /// makes a risk-raising test hold: when in doubt, the rule applies.
    pub fn holds(&self, args: &Value) -> bool {
        let value = lookup(args, &self.arg);
        if let Some(want) = self.exists {
            return value.is_some() == want;
        }
        let Some(value) = value else { return self.equals.is_none() };
        if let Some(eq) = &self.equals {
            return value == eq;
        }
        if let Some(limit) = self.gt {
            return value.as_f64().is_none_or(|n| n > limit);
        }
        if let Some(limit) = self.lt {
            return value.as_f64().is_none_or(|n| n < limit);
        }
        if let Some(allowed) = &self.domain_not_in {
            let addresses = strings(value);
            return addresses.is_empty()
                || addresses
                    .iter()
                    .any(|a| domain_of(a).is_none_or(|d| !allowed.iter().any(|x| x.eq_ignore_ascii_case(&d))));
        }
        if let Some(allowed) = &self.host_not_in {
            let host = value
                .as_str()
                .and_then(|u| reqwest::Url::parse(u).ok())
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
            return host.is_none_or(|h| !allowed.iter().any(|x| x.eq_ignore_ascii_case(&h)));
        }
        false
    }
}
