//! How a run is cut into parts: an intent ends before a question, a wait
//! for an event, or a step that reads an earlier step's result; a wait
//! with no action before such a step is a sleep of its own.

use serde_json::json;

use super::render::{Next, next};
use super::tests::{catalog, parse};
use crate::store::Store;

const PARTS: &str = r#"
name = "parts"
[params.who]
type = "string"
default = "Ana"

[[steps]]
id = "hello"
action = "note.write"
args = { text = "Hello {{ params.who }}" }

[[steps]]
id = "pause"
wait = "2h"

[[steps]]
id = "ok"
ask = "Go on with {{ params.who }}?"
choices = ["go", "stop", "later"]
default = "stop"
timeout = "1d"

[[steps]]
id = "went"
if = "steps.ok.answer == 'go'"
action = "note.write"
args = { text = "Went on, after {{ steps.hello.result.id | default('?') }}" }

[[steps]]
id = "event"
wait_for = "parts"
key = "done:{{ params.who }}"
timeout = "2d"

[[steps]]
id = "last"
action = "note.write"
args = { text = "Event: {{ steps.event.timed_out }}" }
"#;

#[tokio::test]
async fn a_run_is_cut_before_what_it_must_wait_for() {
    let w = parse(PARTS).unwrap();
    let store = Store::in_memory().await.unwrap();
    let cat = catalog(&store);
    let mut ctx = json!({"params": {"who": "Ana"}, "steps": {}});
    let now = 1_000_000;
    // The first part: the greeting; the wait before the question is not
    // attached to it.
    let (first, skipped) = next(&w, &ctx, &cat, now, 0).unwrap();
    assert!(skipped.is_empty());
    let Next::Intent { steps, ids, then } = first else { panic!("{first:?}") };
    assert_eq!((steps.len(), ids, then), (1, vec!["hello".to_owned()], Some(1)));
    assert_eq!(steps[0].wait_secs, None);
    // Then the wait, on its own, and the question after it.
    assert_eq!(next(&w, &ctx, &cat, now, 1).unwrap().0, Next::Sleep { until: now + 7_200_000, then: 2 });
    let (ask, _) = next(&w, &ctx, &cat, now, 2).unwrap();
    let Next::Ask { id, question, timeout_secs, then } = ask else { panic!("{ask:?}") };
    assert_eq!((id.as_str(), question.text.as_str(), timeout_secs, then), ("ok", "Go on with Ana?", 86_400, Some(3)));
    assert_eq!((question.choices.len(), question.default.as_str()), (3, "stop"));
    // Answered "stop": the branch is left out, and the run waits for its
    // event.
    ctx["steps"] = json!({"hello": {"result": {"id": 7}}, "ok": {"answer": "stop"}});
    let (wait, skipped) = next(&w, &ctx, &cat, now, 3).unwrap();
    assert_eq!(skipped, vec!["went".to_owned()]);
    assert_eq!(
        wait,
        Next::WaitFor {
            id: "event".into(),
            source: "parts".into(),
            key: "done:Ana".into(),
            timeout_secs: 172_800,
            then: Some(5)
        }
    );
    // Answered "go": the branch runs, rendered over the earlier result.
    ctx["steps"]["ok"]["answer"] = json!("go");
    let Next::Intent { steps, then, .. } = next(&w, &ctx, &cat, now, 3).unwrap().0 else { panic!() };
    assert_eq!((steps[0].args["text"].as_str(), then), (Some("Went on, after 7"), Some(4)));
    ctx["steps"]["event"] = json!({"timed_out": true});
    let Next::Intent { steps, then, .. } = next(&w, &ctx, &cat, now, 5).unwrap().0 else { panic!() };
    assert_eq!((steps[0].args["text"].as_str(), then), (Some("Event: True"), None));
    assert_eq!(next(&w, &ctx, &cat, now, 6).unwrap().0, Next::Done);
}

#[test]
fn control_steps_are_checked_as_written() {
    let refused = |from: &str, to: &str| parse(&PARTS.replace(from, to)).unwrap_err().to_string();
    assert!(refused("default = \"stop\"", "default = \"maybe\"").contains("not one of the choices"));
    assert!(refused("\"go\", \"stop\", \"later\"", "\"go\", \"go\"").contains("each choice once"));
    assert!(refused("choices = [\"go\", \"stop\", \"later\"]", "choices = []").contains("1 to 8 `choices`"));
    assert!(refused("timeout = \"1d\"", "timeout = \"1s\"").contains("1m to a year"));
    assert!(refused("key = \"done:{{ params.who }}\"\n", "").contains("needs `key`"));
    assert!(refused("ask = \"Go on", "action = \"note.write\"\nask = \"Go on").contains("a step is one of"));
    let reads_later = refused("Hello {{ params.who }}", "Hello {{ steps.last.result }}");
    assert!(reads_later.contains("reads `steps.last`, which is no step before it"), "{reads_later}");
    assert!(refused("id = \"went\"", "id = \"went\"\nwait_until = \"2027-01-01T09:00\"").contains("`action`"));
}
