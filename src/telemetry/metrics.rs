//! A small Prometheus registry: monotonic counters kept in memory, and gauges
//! computed by the caller at scrape time from the database (the source of
//! truth for anything stateful, such as intents by state).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Counter names and their help text. Rendering only the names listed here
/// keeps the exposition well-formed (one HELP and TYPE per family).
const COUNTERS: &[(&str, &str)] = &[
    ("steward_http_requests_total", "HTTP requests answered, by status code."),
    ("steward_intents_created_total", "Intents created since start."),
    ("steward_step_attempts_total", "Step executions and undos started since start."),
    ("steward_step_retries_total", "Step attempts that failed and were retried, since start."),
    ("steward_requests_total", "Requests answered by the reasoning pipeline, by the tier that answered."),
    ("steward_model_calls_total", "Model calls, by tier and outcome (ok, invalid_output, http_error, timeout)."),
    ("steward_plans_refused_total", "Plans refused by the qa checks, by attempt (first, repair)."),
    ("steward_rate_limited_total", "Messages refused or dropped for a rate limit, by channel."),
    ("steward_webhooks_refused_total", "Webhook deliveries refused for a bad or missing signature."),
];

/// A gauge value computed at scrape time.
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    /// (family, rendered label set) → count. A std Mutex: it is never held
    /// across an await, and each critical section is a map update.
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
}

fn render_labels<K: AsRef<str>, V: AsRef<str>>(labels: &[(K, V)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}=\"{}\"", k.as_ref(), v.as_ref().replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", parts.join(","))
}

impl Metrics {
    pub fn inc(&self, name: &'static str, labels: &[(&str, &str)]) {
        debug_assert!(COUNTERS.iter().any(|(n, _)| *n == name), "unregistered counter {name}");
        let key = (name, render_labels(labels));
        *self.counters.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default() += 1;
    }

    /// The Prometheus text exposition of every counter and the given gauges.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out = String::new();
        for (name, help) in COUNTERS {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let mut any = false;
            for ((_, labels), value) in counters.range((*name, String::new())..).take_while(|((n, _), _)| n == name) {
                let _ = writeln!(out, "{name}{labels} {value}");
                any = true;
            }
            if !any {
                let _ = writeln!(out, "{name} 0");
            }
        }
        let mut last = "";
        for g in gauges {
            if g.name != last {
                let _ = writeln!(out, "# HELP {} {}\n# TYPE {} gauge", g.name, g.help, g.name);
                last = g.name;
            }
            let _ = writeln!(out, "{}{} {}", g.name, render_labels(&g.labels), g.value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges_in_text_format() {
        let m = Metrics::default();
        m.inc("steward_http_requests_total", &[("status", "200")]);
        m.inc("steward_http_requests_total", &[("status", "200")]);
        m.inc("steward_http_requests_total", &[("status", "401")]);
        let gauge = Gauge {
            name: "steward_intents",
            help: "Intents by state.",
            labels: vec![("state", "running".into())],
            value: 3.0,
        };
        let text = m.render(&[gauge]);
        assert!(text.contains("steward_http_requests_total{status=\"200\"} 2\n"), "{text}");
        assert!(text.contains("steward_http_requests_total{status=\"401\"} 1\n"), "{text}");
        assert!(text.contains("steward_intents_created_total 0\n"), "{text}");
        assert!(text.contains("# TYPE steward_intents gauge\nsteward_intents{state=\"running\"} 3\n"), "{text}");
    }
}
