//! The labelled workload through the reasoning tiers (`steward-bench
//! tiers`), its tuning part and its eight test parts, with floors under
//! what they measured: most requests need no model,
//! the tier that answers is the labelled one, and tiering spends far fewer
//! tokens than sending everything to the planner.

use std::process::Command;

use serde_json::Value;

#[test]
fn the_workload_is_answered_at_the_cheapest_tier() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_steward-bench")).args(["tiers", "--embedder", "minilm"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let figures: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = |k: &str| figures[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {figures}"));
    assert!(f("requests") >= 500.0, "{figures}");
    assert!(f("no_llm_fraction") >= 0.6, "{figures}");
    assert!(f("routing_accuracy") >= 0.95, "{figures}");
    // The target is 5×; what the pipeline reaches is in the closing note.
    assert!(f("token_ratio") >= 3.5, "{figures}");
    // The test parts (other templates and vocabulary): floors under what
    // they measured. The target is 0.85 of no-model requests
    // answered right at tiers 0–1 and every command routed right; the
    // closing note says how far each part is. `test` and `fresh` have been
    // read (no longer blind); `unseen` was written before `fresh` was read,
    // by the session that widened the readers after; `letters` was measured
    // blind once, then read with courtesies taken off; `dictated` was
    // measured blind once (0.389), then read with spoken fillers taken off.
    // Its two commands still missed are "make a note …", which the command
    // phrasings (tests/data) leave to the tiers as a note to write.
    // `shorthand` was written after that and measured blind once: 0.698,
    // 64/89 commands; then read (emoji and "asap" around a request, slips
    // of the keyboard on long command words). `desk` was written after
    // the last change for those and measured blind once: 0.794, 71/98
    // commands, routing 0.872; then read (other verbs for the same
    // commands: "green-light", "scrub", "ditch", "burn"). `phone` was
    // written after that and measured blind once: 0.844, 65/98 commands,
    // routing 0.896; then read (word order of another language,
    // contractions, "on pause", "once more").
    assert!(f("requests_total") >= 3000.0, "{figures}");
    let part =
        |name: &str, k: &str| figures[name][k].as_f64().unwrap_or_else(|| panic!("{name}.{k} missing: {figures}"));
    // (part, no-model requests answered right, routing, share of commands routed right)
    for (name, answered, routing, commands) in [
        ("test", 0.9, 0.93, 1.0),
        ("fresh", 0.89, 0.91, 1.0),
        ("unseen", 0.85, 0.9, 1.0),
        ("letters", 0.93, 0.95, 1.0),
        ("dictated", 0.9, 0.93, 0.97),
        ("shorthand", 0.93, 0.93, 0.97),
        ("desk", 0.9, 0.93, 1.0),
        ("phone", 0.93, 0.94, 1.0),
    ] {
        assert!(part(name, "requests") >= 400.0, "{name}: {figures}");
        assert!(part(name, "no_model_answered_right") >= answered, "{name}: {figures}");
        assert!(part(name, "routing_accuracy") >= routing, "{name}: {figures}");
        assert!(part(name, "commands_routed_right") >= commands * part(name, "commands"), "{name}: {figures}");
    }
    let by_tier = &figures["by_tier"];
    assert!(
        ["0", "1", "2", "3"].iter().all(|t| by_tier[t].as_u64().unwrap() > 0),
        "every tier is exercised: {figures}"
    );
}
