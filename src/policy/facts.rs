//! What the policy sees of a step: its arguments as the adapter will use
//! them, every destination its adapter declares, and what the destinations'
//! host names resolve to. Names are resolved before judging (outside any
//! database transaction), so a public name that points at a private or
//! metadata address is judged by where it really goes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;

use crate::dns::Dns;
pub use crate::domain::AddressClass;
use crate::domain::{Destination, DestinationKind, Reach};

/// The host of a URL destination, lowercased; `None` when it has none.
pub fn host_of(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(&url.replace("{key}", "k")).ok()?;
    parsed.host_str().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
}

/// What the policy knows of one step.
#[derive(Debug, Clone, Default)]
pub struct StepFacts {
    /// The arguments with the adapter's defaults filled in.
    pub args: Value,
    pub destinations: Vec<Destination>,
    /// Host name → the addresses it resolved to. A name that is absent
    /// here was not resolved (or could not be): the policy cannot tell
    /// where it goes.
    pub resolved: HashMap<String, Vec<IpAddr>>,
}

impl StepFacts {
    pub fn new(args: Value, destinations: Vec<Destination>) -> Self {
        Self { args, destinations, resolved: HashMap::new() }
    }

    /// Facts from the arguments alone: for a step whose adapter is not known.
    pub fn from_args(args: &Value) -> Self {
        Self::new(args.clone(), vec![])
    }

    /// Where the step's names pointed when judged, to hold its connections to.
    pub fn reach(&self) -> Reach {
        Reach(self.resolved.iter().map(|(h, ips)| (h.clone(), ips.clone())).collect())
    }

    /// The destinations of a kind, when `arg` is one of them: a rule that
    /// names any destination is checked against all of that kind.
    pub(super) fn destinations_for(&self, arg: &str, kind: DestinationKind) -> Option<Vec<&str>> {
        self.destinations
            .iter()
            .any(|d| d.arg == arg && d.kind == kind)
            .then(|| self.destinations.iter().filter(|d| d.kind == kind).map(|d| d.value.as_str()).collect())
    }

    /// Whether the host is in one of `classes`: `Some(true|false)` when
    /// known, `None` when the host is a name that did not resolve.
    pub(super) fn host_in(&self, host: &str, classes: &[AddressClass]) -> Option<bool> {
        if classes.iter().any(|c| c.names(host)) {
            return Some(true);
        }
        let addresses = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => self.resolved.get(host).cloned()?,
        };
        if addresses.is_empty() {
            return None;
        }
        Some(addresses.iter().any(|ip| classes.iter().any(|c| c.contains(*ip))))
    }

    /// Resolves the host names of every URL destination through `dns`,
    /// each within `timeout`. A name that does not resolve stays unresolved.
    pub async fn resolve(&mut self, dns: &Dns, timeout: Duration) {
        let hosts: Vec<(String, u16)> = self
            .destinations
            .iter()
            .filter(|d| d.kind == DestinationKind::Url)
            .filter_map(|d| {
                let url = reqwest::Url::parse(&d.value.replace("{key}", "k")).ok()?;
                let host = host_of(&d.value)?;
                (host.parse::<IpAddr>().is_err()).then(|| (host, url.port_or_known_default().unwrap_or(443)))
            })
            .collect();
        let lookups = hosts.into_iter().map(|(host, port)| async move {
            let addresses = dns.lookup(&host, port, timeout).await;
            (host, addresses)
        });
        for (host, addresses) in futures_util::future::join_all(lookups).await {
            if !addresses.is_empty() {
                self.resolved.insert(host, addresses);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn hosts_are_judged_by_literal_name_or_resolution() {
        let mut facts = StepFacts::default();
        let internal = [AddressClass::Loopback, AddressClass::Metadata];
        assert_eq!(facts.host_in("127.0.0.1", &internal), Some(true));
        assert_eq!(facts.host_in("localhost", &internal), Some(true));
        assert_eq!(facts.host_in("api.example", &internal), None, "unresolved: cannot tell");
        facts.resolved.insert("api.example".into(), vec![ip("169.254.169.254")]);
        assert_eq!(facts.host_in("api.example", &internal), Some(true), "a public name pointing inside");
        facts.resolved.insert("pay.example".into(), vec![ip("93.184.216.34")]);
        assert_eq!(facts.host_in("pay.example", &internal), Some(false));
        assert_eq!(host_of("http://2130706433/x").as_deref(), Some("127.0.0.1"), "decimal IPs are normalised");
        assert_eq!(host_of("http://[::1]:8080/").as_deref(), Some("::1"));
    }
}
