//! How the webhook adapter connects: names resolve through the [`Dns`] the
//! policy judges with, redirects are never followed, and a host name the
//! policy resolved when it judged the step is resolved again and reached
//! only at addresses of the kinds judged ([`Reach::admit`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;

use crate::adapters::AdapterError;
use crate::dns::Dns;
use crate::domain::Reach;

/// At most this many held clients are kept; past it they are dropped and
/// made again as needed.
const MAX_HELD_CLIENTS: usize = 64;
/// How long a held connection waits for its name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) struct Clients {
    timeout_ms: u64,
    dns: Dns,
    /// For what the policy judged no name of: address literals, and names
    /// judged at their worst.
    shared: reqwest::Client,
    /// Clients held to the addresses a judged name may reach, by host and
    /// addresses: kept, so repeated calls reuse their connections.
    held: Mutex<HashMap<(String, Vec<SocketAddr>), reqwest::Client>>,
}

fn builder(timeout_ms: u64, dns: &Dns) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout_ms))
        .connect_timeout(Duration::from_millis(timeout_ms.min(5_000)))
        // A redirect would reach an address the policy never judged: a
        // 3xx is the outcome, and the plan names the final address.
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(dns.clone()))
}

impl Clients {
    pub(super) fn new(timeout_ms: u64, dns: Dns) -> Self {
        let shared = builder(timeout_ms, &dns).build().expect("a reqwest client with rustls builds");
        Self { timeout_ms, dns, shared, held: Mutex::default() }
    }

    pub(super) fn timeout_ms(&self) -> u64 {
        self.timeout_ms
    }

    /// The client to reach `url` with: one held to the addresses of the
    /// kinds the policy judged for its host, when it judged a name there.
    /// A name that now points elsewhere (DNS rebinding) is refused for good.
    pub(super) async fn for_url(&self, url: &str, reach: &Reach) -> Result<reqwest::Client, AdapterError> {
        let Ok(parsed) = Url::parse(url) else { return Ok(self.shared.clone()) };
        let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
            return Ok(self.shared.clone());
        };
        // An address literal needs no name server; a name not judged was
        // judged at its worst.
        if !reach.0.contains_key(host) {
            return Ok(self.shared.clone());
        }
        let now = self.dns.lookup(host, port, RESOLVE_TIMEOUT).await;
        if now.is_empty() {
            return Err(AdapterError::Transient(format!("{host} does not resolve")));
        }
        let admitted = reach.admit(host, now).map_err(AdapterError::Permanent)?;
        let key = (host.to_owned(), admitted.into_iter().map(|ip| SocketAddr::new(ip, port)).collect::<Vec<_>>());
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = held.get(&key) {
            return Ok(client.clone());
        }
        let made = builder(self.timeout_ms, &self.dns)
            .resolve_to_addrs(host, &key.1)
            .build()
            .map_err(|e| AdapterError::Permanent(format!("no client for {host}: {e}")))?;
        if held.len() >= MAX_HELD_CLIENTS {
            held.clear();
        }
        held.insert(key, made.clone());
        Ok(made)
    }
}
