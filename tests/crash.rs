//! The proof: SIGKILL `steward serve` at seeded random moments while it runs
//! intents of three webhook steps, restart it, and check that every intent
//! ends terminal, none is lost, every effect happened exactly once, and failed
//! intents were undone.

#[path = "support/crash.rs"]
mod crash;
#[path = "support/receiver.rs"]
mod receiver;

fn plan(faults: bool, seed: u64) -> crash::Plan {
    crash::Plan { intents: 50, kills: 10, seed, faults, steward: env!("CARGO_BIN_EXE_steward").into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_lose_nothing_and_repeat_no_effect() {
    let report = crash::run(&plan(false, 7)).await;
    println!("{}", serde_json::to_string(&report).unwrap());
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.not_terminal, 0, "{report:?}");
    assert_eq!(report.duplicate_effects, 0, "{report:?}");
    assert_eq!(report.raw_duplicates, 0, "with reconcile available no delivery is ever repeated: {report:?}");
    assert_eq!(report.uncompensated, 0, "{report:?}");
    assert_eq!(report.by_state.get("compensated"), Some(&10), "every fifth intent unwinds: {report:?}");
    assert!(report.reconciled > 0, "no kill landed mid-step, so nothing was proven: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_with_a_faulty_receiver_keep_the_same_guarantees() {
    let report = crash::run(&plan(true, 11)).await;
    println!("{}", serde_json::to_string(&report).unwrap());
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.not_terminal, 0, "{report:?}");
    assert_eq!(report.duplicate_effects, 0, "an applied effect is never sent again: {report:?}");
    assert_eq!(report.uncompensated, 0, "{report:?}");
}
