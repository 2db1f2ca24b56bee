//! Conventions of a well-behaved command line: `STEWARD_*` variables that
//! are not configuration are left alone, and a reader that goes away
//! (`steward … | head`) ends the output quietly.

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
