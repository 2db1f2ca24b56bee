//! A name server stand-in on loopback UDP: answers A and AAAA questions
//! for the names a test sets, with a TTL of 0 (as a rebinding attacker's
//! server does, so nothing is cached), and NXDOMAIN for the rest. A test
//! changes an answer while steward runs, to point a name elsewhere.
//! Written from RFC 1035 by hand, independent of the resolver steward uses.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;

#[derive(Default)]
struct Zone {
    answers: HashMap<String, Vec<IpAddr>>,
    asked: HashMap<String, usize>,
}

pub struct FakeDns {
    pub addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDns {
    pub async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let zone = Arc::new(Mutex::new(Zone::default()));
        let serving = zone.clone();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                if let Some(reply) = answer(&buf[..n], &serving) {
                    let _ = socket.send_to(&reply, from).await;
                }
            }
        });
        Self { addr, zone, task }
    }

    /// From now on, `name` resolves to `ips`.
    pub fn set(&self, name: &str, ips: &[IpAddr]) {
        self.zone.lock().unwrap().answers.insert(name.to_ascii_lowercase(), ips.to_vec());
    }

    /// How many A questions were asked for `name`.
    pub fn asked(&self, name: &str) -> usize {
        self.zone.lock().unwrap().asked.get(&name.to_ascii_lowercase()).copied().unwrap_or(0)
    }
}

/// The question's name (dotted, lowercase), type, and where it ends.
fn question(packet: &[u8]) -> Option<(String, u16, usize)> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *packet.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(packet.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]);
    Some((labels.join("."), qtype, at + 4))
}

fn answer(query: &[u8], zone: &Mutex<Zone>) -> Option<Vec<u8>> {
    if query.len() < 12 || u16::from_be_bytes([query[4], query[5]]) != 1 {
        return None;
    }
    let (name, qtype, end) = question(query)?;
    let mut zone = zone.lock().unwrap();
    if qtype == 1 {
        *zone.asked.entry(name.clone()).or_default() += 1;
    }
    let known = zone.answers.get(&name).cloned();
    let records: Vec<IpAddr> = known
        .iter()
        .flatten()
        .copied()
        .filter(|ip| matches!((ip, qtype), (IpAddr::V4(_), 1) | (IpAddr::V6(_), 28)))
        .collect();
    let mut reply = Vec::with_capacity(end + records.len() * 28);
    reply.extend_from_slice(&query[..2]);
    let rd = query[2] & 0x01;
    let rcode = if known.is_some() { 0 } else { 3 };
    reply.extend_from_slice(&[0x84 | rd, 0x80 | rcode]);
    reply.extend_from_slice(&[0, 1]);
    reply.extend_from_slice(&(records.len() as u16).to_be_bytes());
    reply.extend_from_slice(&[0, 0, 0, 0]);
    reply.extend_from_slice(&query[12..end]);
    for ip in records {
        reply.extend_from_slice(&[0xc0, 0x0c]);
        let (rtype, data) = match ip {
            IpAddr::V4(v4) => (1u16, v4.octets().to_vec()),
            IpAddr::V6(v6) => (28u16, v6.octets().to_vec()),
        };
        reply.extend_from_slice(&rtype.to_be_bytes());
        reply.extend_from_slice(&[0, 1, 0, 0, 0, 0]);
        reply.extend_from_slice(&(data.len() as u16).to_be_bytes());
        reply.extend_from_slice(&data);
    }
    Some(reply)
}
