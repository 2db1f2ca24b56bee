//! 10,000 racing decisions against 300 approvals; the audit trail must show
//! every approval decided at most once and nothing run without approval.

#[path = "support/storm.rs"]
mod storm;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_presses_decide_each_approval_at_most_once_and_nothing_runs_unapproved() {
    let report = storm::run(&storm::Storm { approvals: 300, presses: 10_000, seed: 2026, workers: 8 }).await;
    println!("{}", serde_json::to_string(&report).unwrap());
    assert_eq!(report.violations, 0, "{report:#?}");
    assert!(report.decided > 0 && report.decided <= report.approvals, "{report:?}");
    assert!(report.refused > report.presses / 2, "most presses are stale, foreign or duplicate: {report:?}");
    assert!(report.ran > 0 && report.cancels > 0, "{report:?}");
}
