//! Kinds of network address: the classes a policy's `host_in_class` can
//! name (this machine, private networks, link-local, cloud metadata), and
//! where a step's names pointed when it was judged, so that it connects
//! only to addresses of those kinds.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

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
    pub fn names(self, host: &str) -> bool {
        match self {
            Self::Loopback => host == "localhost" || host.ends_with(".localhost"),
            Self::Metadata => host == "metadata.google.internal" || host == "metadata",
            Self::Private | Self::LinkLocal => false,
        }
    }
}

const CLASSES: [AddressClass; 4] =
    [AddressClass::Loopback, AddressClass::Private, AddressClass::LinkLocal, AddressClass::Metadata];

/// The classes an address is in, as bits; 0 for a public address.
fn kind(ip: IpAddr) -> u8 {
    CLASSES.iter().enumerate().filter(|(_, c)| c.contains(ip)).fold(0, |bits, (i, _)| bits | (1 << i))
}

fn kind_name(bits: u8) -> String {
    if bits == 0 {
        return "public".into();
    }
    let names: Vec<&str> =
        CLASSES.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, c)| c.as_str()).collect();
    names.join("+")
}

/// Where a step's host names pointed when the policy judged it: host →
/// addresses. A name absent here was not resolved then, and was judged as
/// the worst it could be.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Reach(pub BTreeMap<String, Vec<IpAddr>>);

impl Reach {
    /// Of the addresses `host` resolves to when the step connects, those of
    /// a kind the policy judged (public, loopback, private, …): a name that
    /// pointed at a public address when judged and at this machine or the
    /// metadata service now (DNS rebinding) reaches neither. `Err` says
    /// what changed, when nothing is left.
    pub fn admit(&self, host: &str, now: Vec<IpAddr>) -> Result<Vec<IpAddr>, String> {
        let Some(judged) = self.0.get(host) else { return Ok(now) };
        let kinds: Vec<u8> = judged.iter().map(|ip| kind(*ip)).collect();
        let admitted: Vec<IpAddr> = now.iter().copied().filter(|ip| kinds.contains(&kind(*ip))).collect();
        if !admitted.is_empty() {
            return Ok(admitted);
        }
        let show = |ips: &[IpAddr]| {
            let shown: Vec<String> = ips.iter().take(4).map(|ip| format!("{ip} ({})", kind_name(kind(*ip)))).collect();
            if shown.is_empty() { "nothing".to_owned() } else { shown.join(", ") }
        };
        Err(format!(
            "{host} now resolves to {}, not to the kind of address the policy judged ({}); refused, since a name that \
             changes where it points after judgement (DNS rebinding) would reach what was never judged or approved",
            show(&now),
            show(judged)
        ))
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
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
    fn a_step_connects_only_to_the_kinds_of_address_judged() {
        let mut judged = Reach::default();
        judged.0.insert("pay.example".into(), vec![ip("93.184.216.34")]);
        judged.0.insert("nas.lan".into(), vec![ip("192.168.1.20")]);
        // Another public address of a public name is fine (CDNs rotate).
        assert_eq!(judged.admit("pay.example", vec![ip("93.184.216.99")]), Ok(vec![ip("93.184.216.99")]));
        // Rebound to this machine or to the metadata service: refused.
        for inside in ["127.0.0.1", "169.254.169.254", "10.0.0.1", "::ffff:127.0.0.1"] {
            let why = judged.admit("pay.example", vec![ip(inside)]).unwrap_err();
            assert!(why.contains("DNS rebinding") && why.contains("public"), "{why}");
        }
        // Of a mixed answer, only the judged kind is reached.
        assert_eq!(judged.admit("pay.example", vec![ip("127.0.0.1"), ip("8.8.8.8")]), Ok(vec![ip("8.8.8.8")]));
        // A private name judged private may not turn public either.
        assert!(judged.admit("nas.lan", vec![ip("8.8.8.8")]).is_err());
        assert_eq!(judged.admit("nas.lan", vec![ip("192.168.1.21")]), Ok(vec![ip("192.168.1.21")]));
        // A name not resolved when judged was judged at its worst.
        assert_eq!(judged.admit("other.example", vec![ip("127.0.0.1")]), Ok(vec![ip("127.0.0.1")]));
        assert!(judged.admit("pay.example", vec![]).unwrap_err().contains("nothing"));
    }
}
