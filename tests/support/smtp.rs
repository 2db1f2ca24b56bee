//! Starts `smtp_sink.py` (aiosmtpd, from PyPI) as a child process on
//! loopback and reads what it received.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpSink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    /// `mode`: ok, flaky, hang or auth (see smtp_sink.py).
    pub fn start(mode: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut child = Command::new("python3")
            .args([script, dir.path().to_str().unwrap(), mode])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs (the tests need aiosmtpd: pip install aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("smtp_sink.py did not start (is aiosmtpd installed?): {line:?}"));
        Self { port, dir, child }
    }

    /// Points steward's email at this sink: plain SMTP on loopback, short
    /// timeouts and retries.
    pub fn wire(&self, c: &mut steward::config::Config) {
        c.email.host = Some("127.0.0.1".into());
        c.email.port = self.port;
        c.email.security = steward::config::SmtpSecurity::None;
        c.email.from = Some("steward <steward@example.com>".into());
        c.email.timeout_secs = 2;
        c.email.retry = steward::domain::RetryPolicy { initial_ms: 50, multiplier: 2.0, max_ms: 200, max_attempts: 4 };
    }

    /// Every message received so far, raw, in order.
    pub fn messages(&self) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }

    /// Waits (up to 20 s) until at least `n` messages arrived.
    pub fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "the SMTP sink got {} of {n} messages", got.len());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A header's value in a raw message.
pub fn header(message: &str, name: &str) -> Option<String> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    message.lines().find(|l| l.to_ascii_lowercase().starts_with(&prefix)).map(|l| l[prefix.len()..].trim().to_owned())
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
