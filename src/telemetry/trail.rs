//! Reading the JSON log back: the lines about one intent, for
//! `steward intents show ID --log FILE`. A line is about an intent when the
//! event itself, or any span it was logged in, carries its `intent_id`.

use std::io::BufRead;

use serde_json::Value;

/// The longest line read; longer ones (not steward's) are skipped.
const MAX_LINE: usize = 64 * 1024;

/// The last `max` lines of a JSON log about `intent_id`, oldest first.
/// Lines that are not JSON (text logs, other programs) are skipped.
pub fn about_intent(log: impl BufRead, intent_id: &str, max: usize) -> std::io::Result<Vec<Value>> {
    let mut found = std::collections::VecDeque::new();
    for line in log.split(b'\n') {
        let line = line?;
        if line.len() > MAX_LINE {
            continue;
        }
        let Ok(entry) = serde_json::from_slice::<Value>(&line) else { continue };
        if mentions(&entry, intent_id) {
            if found.len() == max {
                found.pop_front();
            }
            found.push_back(entry);
        }
    }
    Ok(found.into())
}

fn mentions(entry: &Value, intent_id: &str) -> bool {
    let has = |v: &Value| v.get("intent_id").and_then(Value::as_str) == Some(intent_id);
    has(&entry["fields"]) || has(&entry["span"]) || entry["spans"].as_array().is_some_and(|s| s.iter().any(has))
}

/// One line as text: time, level, where, message.
pub fn render(entry: &Value) -> String {
    let spans: Vec<&str> = entry["spans"].as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()).collect();
    format!(
        "{}  {:5}  {}  {}",
        entry["timestamp"].as_str().unwrap_or("?"),
        entry["level"].as_str().unwrap_or("?"),
        spans.join(">"),
        entry["fields"]["message"].as_str().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// A writer the subscriber writes JSON lines into.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines are found in what steward's own JSON log format writes:
    /// an event in a span with the intent's id, and an event naming it.
    #[test]
    fn the_lines_of_an_intent_are_found_in_the_json_log() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber =
            tracing_subscriber::fmt().json().with_current_span(true).with_writer(move || writer.clone()).finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("step", intent_id = "01A", step = 0);
            span.in_scope(|| tracing::info!("calling the webhook"));
            tracing::warn!(intent_id = "01A", "needs the operator");
            tracing::info_span!("step", intent_id = "01B").in_scope(|| tracing::info!("another intent"));
            tracing::info!("no intent at all");
        });
        let mut log = buffer.0.lock().unwrap().clone();
        log.extend_from_slice(b"not json\n");
        let found = about_intent(log.as_slice(), "01A", 10).unwrap();
        let said: Vec<&str> = found.iter().map(|e| e["fields"]["message"].as_str().unwrap()).collect();
        assert_eq!(said, ["calling the webhook", "needs the operator"]);
        assert!(render(&found[0]).contains("step  calling the webhook"), "{}", render(&found[0]));
        assert_eq!(about_intent(log.as_slice(), "01A", 1).unwrap().len(), 1, "the last lines only");
    }
}
