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

/// Histogram names and their help text; each observes seconds.
const HISTOGRAMS: &[(&str, &str)] = &[
    ("steward_intent_seconds", "From an intent's creation to the step outcome that ended it, by final state."),
    ("steward_step_seconds", "Step executions and undos, by adapter and outcome."),
    ("steward_reasoning_seconds", "Requests through the reasoning tiers, by the tier that answered."),
    ("steward_memory_search_seconds", "Memory searches (words and vectors), by whether they were degraded."),
];

/// Upper bounds of the histogram buckets, in seconds: from a cached
/// answer (a millisecond) to a slow model or a long workflow (five minutes).
const BUCKETS: [f64; 16] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Observations at or below each bound (not yet cumulative).
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

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
    histograms: Mutex<BTreeMap<(&'static str, String), Histogram>>,
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

    /// Records one observation of `seconds` (negative or NaN count as 0).
    pub fn observe(&self, name: &'static str, labels: &[(&str, &str)], seconds: f64) {
        debug_assert!(HISTOGRAMS.iter().any(|(n, _)| *n == name), "unregistered histogram {name}");
        let seconds = if seconds.is_finite() { seconds.max(0.0) } else { 0.0 };
        let key = (name, inner_labels(labels));
        let mut all = self.histograms.lock().unwrap_or_else(|e| e.into_inner());
        let h = all.entry(key).or_default();
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            h.counts[i] += 1;
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// The Prometheus text exposition of every counter and histogram, the
    /// given gauges, and `totals`: counters computed at scrape time from
    /// the database (model tokens and cost from the ledger, say).
    pub fn render(&self, gauges: &[Gauge], totals: &[Gauge]) -> String {
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
        self.render_histograms(&mut out);
        for (samples, kind) in [(gauges, "gauge"), (totals, "counter")] {
            let mut last = "";
            for g in samples {
                if g.name != last {
                    let _ = writeln!(out, "# HELP {} {}\n# TYPE {} {kind}", g.name, g.help, g.name);
                    last = g.name;
                }
                let _ = writeln!(out, "{}{} {}", g.name, render_labels(&g.labels), g.value);
            }
        }
        out
    }

    fn render_histograms(&self, out: &mut String) {
        let all = self.histograms.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for (name, help) in HISTOGRAMS {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            for ((_, labels), h) in all.range((*name, String::new())..).take_while(|((n, _), _)| n == name) {
                let with = |le: &str| {
                    if labels.is_empty() { format!("{{le=\"{le}\"}}") } else { format!("{{{labels},le=\"{le}\"}}") }
                };
                let mut cumulative = 0;
                for (bound, n) in BUCKETS.iter().zip(h.counts) {
                    cumulative += n;
                    let _ = writeln!(out, "{name}_bucket{} {cumulative}", with(&bound.to_string()));
                }
                let _ = writeln!(out, "{name}_bucket{} {}", with("+Inf"), h.count);
                let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
                let _ = writeln!(out, "{name}_sum{braces} {}\n{name}_count{braces} {}", h.sum, h.count);
            }
        }
    }
}

/// Labels as `a="b",c="d"`, without braces, for adding `le` to.
fn inner_labels(labels: &[(&str, &str)]) -> String {
    let rendered = render_labels(labels);
    rendered.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or_default().to_owned()
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
        m.observe("steward_step_seconds", &[("adapter", "webhook")], 0.02);
        m.observe("steward_step_seconds", &[("adapter", "webhook")], 3.0);
        m.observe("steward_memory_search_seconds", &[], f64::NAN);
        let total = Gauge { name: "steward_model_tokens_total", help: "Tokens.", labels: vec![], value: 12.0 };
        let text = m.render(&[gauge], &[total]);
        assert!(text.contains("steward_step_seconds_bucket{adapter=\"webhook\",le=\"0.01\"} 0\n"), "{text}");
        assert!(text.contains("steward_step_seconds_bucket{adapter=\"webhook\",le=\"0.025\"} 1\n"), "{text}");
        assert!(text.contains("steward_step_seconds_bucket{adapter=\"webhook\",le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("steward_step_seconds_sum{adapter=\"webhook\"} 3.02\n"), "{text}");
        assert!(text.contains("steward_memory_search_seconds_bucket{le=\"0.001\"} 1\n"), "NaN is 0: {text}");
        assert!(text.contains("# TYPE steward_model_tokens_total counter\nsteward_model_tokens_total 12\n"), "{text}");
        assert!(text.contains("steward_http_requests_total{status=\"200\"} 2\n"), "{text}");
        assert!(text.contains("steward_http_requests_total{status=\"401\"} 1\n"), "{text}");
        assert!(text.contains("steward_intents_created_total 0\n"), "{text}");
        assert!(text.contains("# TYPE steward_intents gauge\nsteward_intents{state=\"running\"} 3\n"), "{text}");
    }
}
