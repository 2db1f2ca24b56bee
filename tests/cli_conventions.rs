//! Conventions of a well-behaved command line: `STEWARD_*` variables that
//! are not configuration are left alone, a reader that goes away
//! (`steward … | head`) ends the output quietly, shell completions and a
//! manual page come from the CLI itself, and `--since` takes a time, a
//! date or a duration.

mod helpers;

use std::process::Stdio;

fn config_with_schedules(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!("[[schedules]]\nname = \"s{i}\"\ncron = \"0 8 * * *\"\ndestination = \"log:digest\"\n"));
    }
    let path = dir.join("steward.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn variables_that_name_no_config_section_are_ignored_and_unknown_keys_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_schedules(dir.path(), 1);
    let run = |envs: &[(&str, &str)]| {
        helpers::steward()
            .current_dir(dir.path())
            .arg("--config")
            .arg(&config)
            .args(["schedules", "list"])
            .envs(envs.iter().copied())
            .output()
            .unwrap()
    };
    // Kubernetes sets STEWARD_PORT for a service named steward; scripts set
    // their own. Neither is configuration.
    let out = run(&[
        ("STEWARD_PORT", "tcp://10.0.0.7:8080"),
        ("STEWARD_BIN", "/usr/local/bin/steward"),
        ("STEWARD_STORE__DURABILITY", "power"),
    ]);
    assert!(out.status.success(), "{}", helpers::stderr(&out));
    assert!(helpers::stdout(&out).contains("s0"));
    // A typo inside a known section is still an error that names it.
    let out = run(&[("STEWARD_STORE__DURABILTY", "power")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(helpers::stderr(&out).contains("durabilty"), "{}", helpers::stderr(&out));
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // Far more than a pipe holds, so the writer meets the closed end.
    let config = config_with_schedules(dir.path(), 3000);
    let mut child = helpers::steward()
        .current_dir(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["schedules", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
}

/// Completions for each shell and the manual page name the commands; with
/// the reader gone they end quietly too.
#[test]
fn completions_and_the_manual_page_come_from_the_cli() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = helpers::steward().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", helpers::stderr(&out));
        let script = helpers::stdout(&out);
        assert!(script.contains("approve-all") && script.contains("reindex"), "{shell}: every command is completed");
    }
    let man = helpers::stdout(&helpers::steward().arg("man").output().unwrap());
    assert!(man.starts_with(".ie") && man.contains(".TH steward 1") && man.contains("completions"), "{man}");
    let bad = helpers::steward().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "an unknown shell is a usage error");
    for args in [&["completions", "bash"][..], &["man"]] {
        let mut child = helpers::steward().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// `costs --since` takes a time, a date or how long ago; anything else is a
/// usage error that says what it takes.
#[test]
fn costs_since_takes_a_time_a_date_or_a_duration() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(helpers::ServeProcess::start(&data, &[("STEWARD_EMBEDDING__BACKEND", "hash")]));
    let costs = |since: &str| {
        helpers::steward().arg("--data-dir").arg(&data).args(["costs", "--json", "--since", since]).output().unwrap()
    };
    let week = costs("7d");
    assert!(week.status.success(), "{}", helpers::stderr(&week));
    let body: serde_json::Value = serde_json::from_slice(&week.stdout).unwrap();
    let since = chrono::DateTime::parse_from_rfc3339(body["since"].as_str().unwrap()).unwrap();
    let ago = chrono::Utc::now().signed_duration_since(since);
    assert!((ago - chrono::Duration::days(7)).num_seconds().abs() < 120, "{body}");
    assert_eq!(body["cost_usd"].to_string(), "0.0", "never -0.0: {body}");
    let day: serde_json::Value = serde_json::from_slice(&costs("2026-11-01").stdout).unwrap();
    assert!(day["since"].as_str().unwrap().starts_with("2026-11-01T00:00:00"), "{day}");
    let text = helpers::steward().arg("--data-dir").arg(&data).args(["costs", "--since", "2w"]).output().unwrap();
    assert!(!helpers::stdout(&text).contains("-0.0"), "{}", helpers::stdout(&text));
    let bad = costs("last tuesday");
    assert_eq!(bad.status.code(), Some(2));
    assert!(helpers::stderr(&bad).contains("7d"), "{}", helpers::stderr(&bad));
}
