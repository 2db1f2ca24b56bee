//! Conditions on a step's arguments. `arg` is a dotted path into the
//! arguments (`body.amount`); the other key says what must hold of it.
//!
//! Conditions fail safe in both directions. When a value is missing or
//! unreadable, a rule that raises risk holds and a rule that lowers it does
//! not. A host or domain test on a destination argument is checked against
//! every destination of that kind the step has, so a rule on `url` also
//! catches `compensate.url`: a rule that raises risk holds when any of them
//! passes the test, one that lowers risk only when all of them do.

use serde::Deserialize;
use serde_json::Value;

use super::facts::{AddressClass, StepFacts, host_of};
use crate::domain::{DestinationKind, lookup};

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
    /// The value equals this, compared as the adapter uses it: text without
    /// regard to case or surrounding space, numbers by value.
    #[serde(default)]
    pub equals: Option<Value>,
    /// The value (an email address or a list of them) has a domain outside this list.
    #[serde(default)]
    pub domain_not_in: Option<Vec<String>>,
    /// The value (a URL) has a host outside this list.
    #[serde(default)]
    pub host_not_in: Option<Vec<String>>,
    /// The value (a URL) has a host that is, or resolves to, an address in
    /// one of these classes.
    #[serde(default)]
    pub host_in_class: Option<Vec<AddressClass>>,
    /// The argument is present (true) or absent (false).
    #[serde(default)]
    pub exists: Option<bool>,
}

fn domain_of(address: &str) -> Option<String> {
    let addr = address.rsplit('<').next().unwrap_or(address).trim_end_matches('>').trim();
    let (local, domain) = addr.rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => s.split(',').map(|s| s.trim().to_owned()).collect(),
        Value::Array(items) => items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect(),
        other => vec![other.to_string()],
    }
}

/// A number as an adapter would read it: a JSON number, or text that is one.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

fn equal(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::String(a), Value::String(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
        (a, b) if number(a).is_some() && number(b).is_some() => number(a) == number(b),
        (a, b) => a == b,
    }
}

fn listed(list: &[String], item: &str) -> bool {
    list.iter().any(|x| x.trim().eq_ignore_ascii_case(item))
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
            self.host_in_class.is_some(),
            self.exists.is_some(),
        ];
        match tests.iter().filter(|t| **t).count() {
            1 => Ok(()),
            0 => Err(format!(
                "condition on `{}` has no test (gt, lt, equals, domain_not_in, host_not_in, host_in_class, exists)",
                self.arg
            )),
            _ => Err(format!("condition on `{}` has more than one test; write one condition per test", self.arg)),
        }
    }

    /// The values this condition examines: every destination of the kind
    /// when `arg` is a destination, else the argument's own value.
    fn values(&self, facts: &StepFacts, kind: DestinationKind) -> Vec<String> {
        match facts.destinations_for(&self.arg, kind) {
            Some(all) => all.into_iter().map(str::to_owned).collect(),
            None => lookup(&facts.args, &self.arg).map(texts).unwrap_or_default(),
        }
    }

    /// One test of one value: `Some(result)`, or `None` when the value
    /// cannot be read for this test.
    fn test(&self, facts: &StepFacts, value: &str) -> Option<bool> {
        if let Some(allowed) = &self.domain_not_in {
            return domain_of(value).map(|d| !listed(allowed, &d));
        }
        let host = host_of(value)?;
        if let Some(allowed) = &self.host_not_in {
            return Some(!listed(allowed, &host));
        }
        let classes = self.host_in_class.as_deref().unwrap_or_default();
        facts.host_in(&host, classes)
    }

    /// Whether it holds of this step. `raises` says whether the rule raises
    /// risk: then a value it cannot read makes it hold; otherwise it makes
    /// it fail.
    pub fn holds(&self, facts: &StepFacts, raises: bool) -> bool {
        let value = lookup(&facts.args, &self.arg);
        if let Some(want) = self.exists {
            return value.is_some() == want;
        }
        let verdict = |known: Option<bool>| known.unwrap_or(raises);
        if let Some(want) = &self.equals {
            return verdict(value.map(|v| equal(v, want)));
        }
        if let Some(limit) = self.gt {
            return verdict(value.and_then(number).map(|n| n > limit));
        }
        if let Some(limit) = self.lt {
            return verdict(value.and_then(number).map(|n| n < limit));
        }
        let kind = if self.domain_not_in.is_some() { DestinationKind::Email } else { DestinationKind::Url };
        let values = self.values(facts, kind);
        if values.is_empty() {
            return verdict(None);
        }
        let mut results = values.iter().map(|v| verdict(self.test(facts, v)));
        if raises { results.any(|held| held) } else { results.all(|held| held) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Destination;
    use serde_json::json;

    fn cond(text: &str) -> Condition {
        toml::from_str(text).unwrap()
    }

    fn webhook(args: Value) -> StepFacts {
        let declared = [
            crate::domain::DestinationArg::url("url"),
            crate::domain::DestinationArg::url("status_url"),
            crate::domain::DestinationArg::url("compensate.url"),
        ];
        StepFacts::new(args.clone(), crate::domain::destinations(&declared, &args))
    }

    #[test]
    fn unreadable_values_raise_risk_but_never_lower_it() {
        let over = cond("arg = \"body.amount\"\ngt = 500.0");
        for unreadable in [json!({}), json!({"body": {"amount": "lots"}}), json!({"body": {"amount": null}})] {
            let facts = StepFacts::from_args(&unreadable);
            assert!(over.holds(&facts, true), "{unreadable}: a raising rule holds");
            assert!(!over.holds(&facts, false), "{unreadable}: a lowering rule does not");
        }
        assert!(over.holds(&StepFacts::from_args(&json!({"body": {"amount": "900"}})), false), "numeric text");
        let small = cond("arg = \"body.amount\"\nlt = 10.0");
        assert!(!small.holds(&StepFacts::from_args(&json!({"body": {"amount": "9 dollars"}})), false));
    }

    #[test]
    fn equals_compares_as_the_adapter_uses_the_value() {
        let delete = cond("arg = \"method\"\nequals = \"DELETE\"");
        assert!(delete.holds(&StepFacts::from_args(&json!({"method": "delete"})), true));
        assert!(delete.holds(&StepFacts::from_args(&json!({"method": " Delete "})), false));
        assert!(!delete.holds(&StepFacts::from_args(&json!({"method": "POST"})), true));
        let five = cond("arg = \"n\"\nequals = 5");
        assert!(five.holds(&StepFacts::from_args(&json!({"n": 5.0})), false));
    }

    #[test]
    fn a_host_rule_on_url_judges_every_destination() {
        let unknown = cond("arg = \"url\"\nhost_not_in = [\"api.acme.com\"]");
        let sneaky = webhook(json!({
            "url": "https://api.acme.com/pay",
            "compensate": {"url": "http://169.254.169.254/latest/meta-data"}
        }));
        assert!(unknown.holds(&sneaky, true), "the undo request goes elsewhere");
        assert!(!unknown.holds(&webhook(json!({"url": "https://API.acme.com/pay"})), true));
        let internal = cond("arg = \"url\"\nhost_in_class = [\"metadata\"]");
        assert!(internal.holds(&sneaky, true));
        let status = webhook(json!({"url": "https://api.acme.com/", "status_url": "http://127.0.0.1/{key}"}));
        assert!(cond("arg = \"url\"\nhost_in_class = [\"loopback\"]").holds(&status, true));
        let lowering = cond("arg = \"url\"\nhost_not_in = [\"evil.example\"]");
        assert!(!lowering.holds(&webhook(json!({"url": "https://ok.example", "status_url": "nonsense"})), false));
    }

    #[test]
    fn domains_of_every_recipient_are_judged() {
        let outside = cond("arg = \"to\"\ndomain_not_in = [\"acme.com\"]");
        let facts = |to: Value| {
            let args = json!({ "to": to });
            let d = crate::domain::destinations(&[crate::domain::DestinationArg::email("to")], &args);
            StepFacts::new(args, d)
        };
        assert!(!outside.holds(&facts(json!("bob@ACME.com")), true));
        assert!(outside.holds(&facts(json!(["bob@acme.com", "Eve <eve@evil.example>"])), true));
        assert!(outside.holds(&facts(json!("not an address")), true));
        assert!(!outside.holds(&facts(json!("not an address")), false));
        let d = Destination { arg: "to".into(), kind: DestinationKind::Email, value: "@acme.com".into() };
        assert!(outside.holds(&StepFacts::new(json!({"to": "@acme.com"}), vec![d]), true), "no local part");
    }
}
