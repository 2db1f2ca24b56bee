//! The operator's own commands: `ask` answers as a chat would, with its
//! sources, with or without a running server; `backup` takes a consistent
//! snapshot while steward serves and `restore` refuses a live data
//! directory, checks the audit chain and rebuilds the vectors; `service
//! install` writes a unit that runs this binary on this data.

mod helpers;

use std::path::Path;

use helpers::{ServeProcess, TOKEN, stderr, stdout, steward};
use serde_json::{Value, json};

const MINILM: (&str, &str) = ("STEWARD_EMBEDDING__BACKEND", "minilm");
const AUTH: (&str, &str) = ("STEWARD_API_TOKEN", TOKEN);

fn run(data: &Path, args: &[&str]) -> std::process::Output {
    steward().arg("--data-dir").arg(data).envs([MINILM, AUTH]).args(args).output().unwrap()
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// `ask` answers from memory with the record it stands on, in this process
/// when nothing serves and through the server when one does.
#[tokio::test]
async fn ask_answers_with_its_sources_with_or_without_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The database comes from a first start.
    drop(ServeProcess::start(&data, &[MINILM, AUTH]));
    let added = json_of(&run(&data, &["memory", "add", "Globex pays net 30 on every invoice.", "--json"]));
    let fact = added["ids"][0].as_str().unwrap().to_owned();

    let here = run(&data, &["ask", "what", "are", "the", "Globex", "payment", "terms?"]);
    assert!(here.status.success(), "{}", stderr(&here));
    let text = stdout(&here);
    assert!(text.contains("Sources") && text.contains(&format!("[{fact}]")), "cites the fact: {text}");
    assert!(!text.contains("WARN"), "no library warnings on the way: {text}");

    let serve = ServeProcess::start(&data, &[MINILM, AUTH]);
    let there = json_of(&run(&data, &["ask", "--json", "what are the payment terms of Globex?"]));
    let cited: Vec<&str> = there["citations"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(cited, [fact.as_str()], "{there}");
    // A command said in words runs as it would in a chat.
    let pending = json_of(&run(&data, &["ask", "--json", "what's pending?"]));
    assert_eq!((pending["kind"].as_str(), pending["tier"].as_u64()), (Some("reply"), Some(0)), "{pending}");
    drop(serve);

    let usage = run(&data, &["ask"]);
    assert_eq!(usage.status.code(), Some(2), "nothing to ask is a usage error");
}

/// A backup taken while steward serves restores into a new data directory
/// with its audit chain whole and its vectors rebuilt; restore refuses a
/// live data directory, an occupied one without --force, and a backup
/// whose anchor was changed.
#[tokio::test]
async fn a_backup_taken_while_serving_restores_whole_and_restore_refuses_what_it_must() {
    let dir = tempfile::tempdir().unwrap();
    let (data, copy, backup) = (dir.path().join("data"), dir.path().join("copy"), dir.path().join("backup"));
    let serve = ServeProcess::start(&data, &[MINILM, AUTH]);
    let fact = serve.call("/v1/memory", json!({"text": "Initech renews its support contract in March."})).await;
    let fact = fact["ids"][0].as_str().unwrap().to_owned();
    let intent = serve.call("/v1/intents", json!({"text": "note the renewal"})).await;
    let intent = intent["id"].as_str().unwrap().to_owned();

    let taken = run(&data, &["backup", backup.to_str().unwrap()]);
    assert!(taken.status.success(), "{}", stderr(&taken));
    let manifest: Value = serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["records"].as_i64().unwrap() >= 1 && manifest["intents"] == 1, "{manifest}");
    let head = manifest["audit_head"].as_str().unwrap().to_owned();
    assert_eq!(std::fs::read_to_string(backup.join("audit.anchor")).unwrap().trim(), head);
    let again = run(&data, &["backup", backup.to_str().unwrap()]);
    assert!(!again.status.success() && stderr(&again).contains("not empty"), "{}", stderr(&again));

    // The data directory in use is refused, and left as it was.
    let db = data.join("steward.db");
    let before = std::fs::metadata(&db).unwrap().len();
    let live = run(&data, &["restore", backup.to_str().unwrap(), "--force"]);
    assert!(!live.status.success() && stderr(&live).contains("stop `steward serve` first"), "{}", stderr(&live));
    assert!(std::fs::metadata(&db).unwrap().len() >= before);
    drop(serve);

    let restored = run(&copy, &["restore", backup.to_str().unwrap()]);
    assert!(restored.status.success(), "{}", stderr(&restored));
    assert!(stdout(&restored).contains("vectors are rebuilt"), "{}", stdout(&restored));
    let verified = run(&copy, &["audit", "verify"]);
    assert!(verified.status.success(), "{}", stdout(&verified));
    let served = ServeProcess::start(&copy, &[MINILM, AUTH]);
    assert_eq!(served.intent(&intent).await["id"], intent.as_str());
    let stats_url = format!("http://{}/v1/memory/stats", served.addr);
    let client = reqwest::Client::new();
    helpers::until("the restored records have their vectors again", || async {
        let s: Value = client.get(&stats_url).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
        s["records"].as_i64() > Some(0) && s["vectors"] == s["records"]
    })
    .await;
    let hits = served.call("/v1/memory/search", json!({"query": "when does the support deal come up again"})).await;
    assert_eq!(hits["items"][0]["id"], fact.as_str(), "found by meaning: {hits}");
    drop(served);

    let occupied = run(&copy, &["restore", backup.to_str().unwrap()]);
    assert!(!occupied.status.success() && stderr(&occupied).contains("--force"), "{}", stderr(&occupied));
    let forced = run(&copy, &["restore", backup.to_str().unwrap(), "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    let kept = std::fs::read_dir(&copy).unwrap().filter_map(Result::ok);
    assert!(kept.into_iter().any(|e| e.file_name().to_string_lossy().starts_with("steward.db.before-restore-")));

    // A backup whose anchor and manifest were moved past its chain is refused.
    let forged = format!("{}:{}", 99_999, "ab".repeat(32));
    std::fs::write(backup.join("audit.anchor"), format!("{forged}\n")).unwrap();
    let text = std::fs::read_to_string(backup.join("manifest.json")).unwrap().replace(&head, &forged);
    std::fs::write(backup.join("manifest.json"), text).unwrap();
    let refused = run(&dir.path().join("third"), &["restore", backup.to_str().unwrap()]);
    assert!(!refused.status.success() && stderr(&refused).contains("anchor"), "{}", stderr(&refused));
    assert!(!dir.path().join("third/steward.db").exists(), "nothing restored");
}

#[test]
fn service_install_writes_a_unit_for_this_binary_and_data_and_uninstall_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("steward.toml");
    std::fs::write(&config, "").unwrap();
    let service = |args: &[&str]| {
        steward()
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("xdg"))
            .args(["--config", "steward.toml", "--data-dir", "data", "service"])
            .args(args)
            .output()
            .unwrap()
    };
    let installed = service(&["install"]);
    assert!(installed.status.success(), "{}", stderr(&installed));
    assert!(stdout(&installed).contains("systemctl --user enable --now steward"), "{}", stdout(&installed));
    let unit = std::fs::read_to_string(dir.path().join("xdg/systemd/user/steward.service")).unwrap();
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_steward")).unwrap();
    let config = std::fs::canonicalize(&config).unwrap();
    let data = dir.path().join("data");
    let exec = format!(
        "ExecStart=\"{}\" \"--config\" \"{}\" \"--data-dir\" \"{}\" \"serve\"",
        exe.display(),
        config.display(),
        data.display()
    );
    assert!(unit.contains(&exec), "absolute paths to this binary, config and data: {unit}");

    let twice = service(&["install"]);
    assert!(!twice.status.success() && stderr(&twice).contains("--force"), "{}", stderr(&twice));
    assert!(service(&["install", "--force"]).status.success());
    let removed = service(&["uninstall"]);
    assert!(stdout(&removed).contains("removed"), "{}", stdout(&removed));
    assert!(!dir.path().join("xdg/systemd/user/steward.service").exists());
    assert!(stdout(&service(&["uninstall"])).contains("no service is installed"));
}

/// Every command that reads or changes state works while `serve` holds the
/// data directory: none stops at the lock, and what they change, the
/// running server sees.
#[tokio::test]
async fn every_command_that_reads_or_changes_state_works_beside_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("steward.toml");
    std::fs::write(&config, "[[schedules]]\nname = \"daily\"\ncron = \"0 8 * * *\"\ndestination = \"log:digest\"\n")
        .unwrap();
    let notes = dir.path().join("notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(notes.join("acme.md"), "# Acme\nAcme's renewal is in June.\n").unwrap();
    let flows = data.join("workflows");
    let envs = [
        ("STEWARD_EMBEDDING__BACKEND", "hash"),
        AUTH,
        ("STEWARD_CONFIG", config.to_str().unwrap()),
        ("STEWARD_WORKFLOWS__DIR", flows.to_str().unwrap()),
    ];
    let serve = ServeProcess::start(&data, &envs);
    let plan =
        json!({"steps": [{"adapter": "webhook", "action": "call", "args": {"url": "https://hooks.example.net/x"}}]});
    let made = serve.call("/v1/intents", json!({"text": "call the partner hook", "plan": plan})).await;
    let id = made["id"].as_str().unwrap().to_owned();
    serve.wait_for(&id, "awaiting_approval").await;

    let ok = |args: &[&str]| {
        let out = steward().arg("--data-dir").arg(&data).envs(envs).args(args).output().unwrap();
        assert!(out.status.success(), "steward {}: {}", args.join(" "), stderr(&out));
        stdout(&out)
    };
    assert!(ok(&["intents", "list"]).contains(&id));
    assert!(ok(&["intents", "show", &id]).contains("awaiting_approval"));
    assert!(ok(&["approvals", "list"]).contains(&id));
    ok(&["approvals", "reject", &id, "--comment", "not now"]);
    serve.wait_for(&id, "cancelled").await;
    ok(&["memory", "add", "Initech pays by card"]);
    ok(&["import", "notes", notes.to_str().unwrap()]);
    assert!(ok(&["memory", "stats", "--json"]).contains("\"records\""));
    ok(&["memory", "search", "Acme renewal"]);
    ok(&["workflows", "list"]);
    ok(&["schedules", "list"]);
    assert!(ok(&["digest", "send"]).contains("a running `steward serve` delivers it"));
    ok(&["costs", "--since", "7d"]);
    ok(&["ask", "what's pending?"]);
    ok(&["audit", "verify"]);
    ok(&["backup", dir.path().join("backup").to_str().unwrap()]);
    ok(&["doctor"]);
    let hits = serve.call("/v1/memory/search", json!({"query": "Acme renewal June"})).await;
    assert!(hits["items"].to_string().contains("renewal is in June"), "the server sees the import: {hits}");
}
