//! What the policy sees of a step: its arguments as the adapter will use
//! them, every destination its adapter declares, and what the destinations'
//! host names resolve to. Names are resolved before judging (outside any
//! database transaction), so a public name that points at a private or
//! metadata address is judged by where it really goes.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::domain::{Destination, DestinationKind};

/// Classes of address that `host_in_class` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressClass {
    /// This machine: 127.0.0.0/8, ::1, 0.0.0.0, `localhost`.
    Loopback,
    /// Private networks: 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7.
    Private,
    /// Link-local: 169.254/16, fe80::/10.
    LinkLocal,
    /// Cloud metadata services: 169.254.169.254, fd00:ec2::254, 100.100.100.200.
    Metadata,
}

impl AddressClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link_local",
            Self::Metadata => "metadata",
        }
    }

    /// Whether an address belongs to this class. IPv4 addresses written as
    /// IPv6 (`::ffff:127.0.0.1`) are judged as the IPv4 address they are.
    pub fn contains(self, ip: IpAddr) -> bool {
        match canonical(ip) {
            IpAddr::V4(v4) => self.contains_v4(v4),
            IpAddr::V6(v6) => self.contains_v6(v6),
        }
    }

    fn contains_v4(self, ip: Ipv4Addr) -> bool {
        let o = ip.octets();
        match self {
            Self::Loopback => ip.is_loopback() || o[0] == 0,
            Self::Private => ip.is_private() || (o[0] == 100 && (64..128).contains(&o[1])),
            Self::LinkLocal => ip.is_link_local(),
            Self::Metadata => o == [169, 254, 169, 254] || o == [100, 100, 100, 200],
        }
    }

    fn contains_v6(self, ip: Ipv6Addr) -> bool {
        let first = ip.segments()[0];
        match self {
            Self::Loopback => ip.is_loopback() || ip.is_unspecified(),
            Self::Private => (first & 0xfe00) == 0xfc00,
            Self::LinkLocal => (first & 0xffc0) == 0xfe80,
            Self::Metadata => ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
        }
    }

    /// Names that mean a class whatever DNS says.
    fn names(self, host: &str) -> bool {
        match self {
            Self::Loopback => host == "localhost" || host.ends_with(".localhost"),
            Self::Metadata => host == "metadata.google.internal" || host == "metadata",
            Self::Private | Self::LinkLocal => false,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

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

    /// Resolves the host names of every URL destination, each within
    /// `timeout`. A name that does not resolve stays unresolved.
    pub async fn resolve(&mut self, timeout: Duration) {
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
            let found = tokio::time::timeout(timeout, tokio::net::lookup_host(format!("{host}:{port}"))).await;
            let addresses: Vec<IpAddr> = match found {
                Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
                _ => vec![],
            };
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
    fn address_classes_cover_the_internal_ranges() {
        use AddressClass::*;
        for (addr, class) in [
            ("127.0.0.1", Loopback),
            ("127.9.9.9", Loopback),
            ("0.0.0.0", Loopback),
            ("::1", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("10.1.2.3", Private),
            ("172.31.0.1", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", Private),
            ("fd12::1", Private),
            ("169.254.1.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("169.254.169.254", Metadata),
            ("::ffff:169.254.169.254", Metadata),
            ("fd00:ec2::254", Metadata),
        ] {
            assert!(class.contains(ip(addr)), "{addr} is {class:?}");
        }
        for public in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111"] {
            for class in [Loopback, Private, LinkLocal, Metadata] {
                assert!(!class.contains(ip(public)), "{public} is not {class:?}");
            }
        }
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
