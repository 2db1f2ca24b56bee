//! Destinations: the addresses an action may reach. Each adapter declares
//! which of its arguments are destinations, so the policy judges every one
//! of them (a webhook's `url`, its `status_url` and its `compensate.url`),
//! and a new adapter cannot leave one unjudged by forgetting it.

use serde::Serialize;
use serde_json::Value;

/// What kind of address an argument holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    /// An http(s) URL; host conditions look at its host.
    Url,
    /// An email address, or a list of them; domain conditions look at each.
    Email,
}

/// An argument of an action that names a destination: a dotted path into
/// the arguments (`compensate.url`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DestinationArg {
    pub path: &'static str,
    pub kind: DestinationKind,
}

impl DestinationArg {
    pub const fn url(path: &'static str) -> Self {
        Self { path, kind: DestinationKind::Url }
    }

    pub const fn email(path: &'static str) -> Self {
        Self { path, kind: DestinationKind::Email }
    }
}

/// One address a step may reach, read from its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Destination {
    /// The argument it came from.
    pub arg: String,
    pub kind: DestinationKind,
    pub value: String,
}

/// Reads a dotted path (`body.amount`) out of a JSON object.
pub fn lookup<'a>(args: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(args, |v, key| v.get(key))
}

/// The destinations these arguments name, in declaration order. A list of
/// addresses (an array, or a comma-separated string of email addresses)
/// gives one destination per address; a value that is not text is kept as
/// its JSON, so the policy sees it and treats it as unreadable.
pub fn destinations(declared: &[DestinationArg], args: &Value) -> Vec<Destination> {
    let mut out = Vec::new();
    for d in declared {
        let Some(value) = lookup(args, d.path) else { continue };
        let mut push = |v: &str| {
            out.push(Destination { arg: d.path.to_owned(), kind: d.kind, value: v.trim().to_owned() });
        };
        match (value, d.kind) {
            (Value::String(s), DestinationKind::Email) => s.split(',').for_each(&mut push),
            (Value::String(s), DestinationKind::Url) => push(s),
            (Value::Array(items), _) => {
                for item in items {
                    match item {
                        Value::String(s) => push(s),
                        other => push(&other.to_string()),
                    }
                }
            }
            (Value::Null, _) => {}
            (other, _) => push(&other.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_declared_argument_present_becomes_a_destination() {
        let declared = [DestinationArg::url("url"), DestinationArg::url("compensate.url"), DestinationArg::url("x")];
        let args = json!({"url": "https://a.example/", "compensate": {"url": "http://169.254.169.254/"}});
        let found: Vec<_> = destinations(&declared, &args).into_iter().map(|d| (d.arg, d.value)).collect();
        assert_eq!(
            found,
            vec![
                ("url".to_owned(), "https://a.example/".to_owned()),
                ("compensate.url".to_owned(), "http://169.254.169.254/".to_owned())
            ]
        );
    }

    #[test]
    fn address_lists_give_one_destination_each() {
        let declared = [DestinationArg::email("to")];
        let listed = destinations(&declared, &json!({"to": "a@x.com, b@y.org"}));
        assert_eq!(listed.iter().map(|d| d.value.as_str()).collect::<Vec<_>>(), ["a@x.com", "b@y.org"]);
        let array = destinations(&declared, &json!({"to": ["a@x.com", 7]}));
        assert_eq!(array.iter().map(|d| d.value.as_str()).collect::<Vec<_>>(), ["a@x.com", "7"]);
    }
}
