//! How steward turns host names into addresses: the system's resolver, or
//! the name servers `[dns] servers` names. The policy judges a step by the
//! addresses its destinations resolve to, and the webhook adapter resolves
//! through the same [`Dns`] when it connects, so both ask the same servers.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

use crate::config::DnsConfig;

/// A resolver. Cloning it shares its cache.
#[derive(Clone, Default)]
pub struct Dns {
    servers: Option<Arc<TokioResolver>>,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.servers.is_some() { "Dns(servers)" } else { "Dns(system)" })
    }
}

impl Dns {
    /// The system's resolver (`/etc/hosts`, `/etc/resolv.conf`, as every
    /// other program on the machine resolves).
    pub fn system() -> Self {
        Self::default()
    }

    /// The resolver `[dns]` describes: its servers over UDP and TCP, or the
    /// system's when it names none.
    pub fn from_config(config: &DnsConfig) -> Self {
        if config.servers.is_empty() {
            return Self::system();
        }
        let mut resolver = ResolverConfig::from_parts(None, vec![], vec![]);
        for server in &config.servers {
            let mut ns = NameServerConfig::udp_and_tcp(server.ip());
            for connection in &mut ns.connections {
                connection.port = server.port();
            }
            resolver.add_name_server(ns);
        }
        let mut builder = TokioResolver::builder_with_config(resolver, TokioRuntimeProvider::default());
        let options = builder.options_mut();
        options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        options.timeout = Duration::from_millis(config.timeout_ms.max(1));
        options.attempts = 1;
        match builder.build() {
            Ok(r) => Self { servers: Some(Arc::new(r)) },
            Err(e) => {
                tracing::error!(error = %e, "the [dns] servers cannot be used; names resolve as the system resolves them");
                Self::system()
            }
        }
    }

    /// The addresses `host` resolves to now, within `timeout`; none when it
    /// does not resolve (or not in time). An address literal is itself.
    pub async fn lookup(&self, host: &str, port: u16, timeout: Duration) -> Vec<IpAddr> {
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            return vec![ip];
        }
        let found = match &self.servers {
            Some(r) => match tokio::time::timeout(timeout, r.lookup_ip(host)).await {
                Ok(Ok(found)) => found.iter().collect(),
                _ => vec![],
            },
            None => match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
                Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                _ => vec![],
            },
        };
        let mut unique: Vec<IpAddr> = Vec::with_capacity(found.len());
        for ip in found {
            if !unique.contains(&ip) {
                unique.push(ip);
            }
        }
        unique
    }
}

/// reqwest resolves through it too, so a client connects where [`Dns`]
/// says, not where a second resolver might.
impl reqwest::dns::Resolve for Dns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let dns = self.clone();
        Box::pin(async move {
            let found = dns.lookup(name.as_str(), 0, LOOKUP_TIMEOUT).await;
            if found.is_empty() {
                return Err(format!("{} does not resolve", name.as_str()).into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// How long a connection waits for its name to resolve.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
