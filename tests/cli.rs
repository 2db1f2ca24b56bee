//! The `steward` binary as an operator uses it.

mod helpers;

use helpers::{ServeProcess, TOKEN, run_in, stderr, stdout, steward, until};

#[test]
fn serve_answers_health_checks_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = ServeProcess::start(&dir.path().join("data"), &[("STEWARD_API_TOKEN", TOKEN)]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        for path in ["/healthz", "/readyz"] {
            let res = client.get(format!("http://{}{path}", serve.addr)).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
        }
        let res = client.get(format!("http://{}/v1/intents", serve.addr)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(res.status(), 200);
    });
    serve.signal("TERM");
    assert_eq!(serve.wait_exit(), Some(0), "a drained shutdown exits cleanly");
}

#[test]
fn serve_without_a_token_generates_one_and_stays_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = steward().arg("--data-dir").arg(&data).args(["serve", "--addr", "0.0.0.0:0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("refusing to listen on 0.0.0.0:0 without an API token"), "{}", stderr(&out));

    let serve = ServeProcess::start(&data, &[]);
    let token = std::fs::read_to_string(data.join("api_token")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Guarantee: what steward keeps is private: the data directory, the
        // database (memory, plans) and the token are for its user only.
        for private in ["", "api_token", "steward.db", "steward.db-wal"] {
            let mode = std::fs::metadata(data.join(private)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{private:?} is private: {mode:o}");
        }
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = format!("http://{}/v1/intents", serve.addr);
        let client = reqwest::Client::new();
        assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
        assert_eq!(client.get(&url).bearer_auth(token.trim()).send().await.unwrap().status(), 200);
    });
}

#[test]
fn init_writes_a_config_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let path = dir.path().join("steward.toml");
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.contains("durability = \"process\""));

    std::fs::write(&path, "# my own edits\n").unwrap();
    let again = run_in(dir.path(), &["init"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# my own edits\n", "the file is untouched");

    // The written config loads: doctor runs on it.
    std::fs::write(&path, written).unwrap();
    let doctor = run_in(dir.path(), &["doctor"]);
    assert_eq!(doctor.status.code(), Some(0), "{}{}", stdout(&doctor), stderr(&doctor));
}

#[test]
fn a_bad_config_value_names_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("custom.toml");
    std::fs::write(&file, "[store]\ndurability = \"fast\"\n").unwrap();
    let out = run_in(dir.path(), &["--config", file.to_str().unwrap(), "doctor"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("store.durability"), "{err}");
    assert!(err.contains("custom.toml"), "{err}");
    assert!(err.contains("process") && err.contains("power"), "the error says what is accepted: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line, no backtrace: {err}");

    let out =
        steward().current_dir(dir.path()).env("STEWARD_HTTP__ADDR", "localhost:eighty").arg("doctor").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("http.addr") && stderr(&out).contains("STEWARD_HTTP__ADDR"), "{}", stderr(&out));

    let missing = run_in(dir.path(), &["--config", "nope.toml", "doctor"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("nope.toml does not exist"), "{}", stderr(&missing));
}

#[test]
fn an_unknown_subcommand_is_a_clear_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unrecognized subcommand 'frobnicate'"), "{}", stderr(&out));
    assert!(!dir.path().join("data").exists(), "nothing was created");

    let version = run_in(dir.path(), &["--version"]);
    assert_eq!(stdout(&version).trim(), format!("steward {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn doctor_reports_unreachable_parts_without_leaking_secrets() {
    let dir = tempfile::tempdir().unwrap();
    // A port that nothing listens on: bind, note it, release it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let secret = "123456:AAH-very-secret-bot-token";
    let out = steward()
        .current_dir(dir.path())
        .env("STEWARD_TELEGRAM__TOKEN", secret)
        .env("STEWARD_TELEGRAM__API_URL", format!("http://{closed}"))
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "an unreachable configured part is a real error");
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains("very-secret"), "the token leaked: {all}");
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let telegram = checks.as_array().unwrap().iter().find(|c| c["part"] == "telegram").unwrap();
    assert_eq!(telegram["status"], "error");
    assert!(telegram["fix"].is_string());
    let discord = checks.as_array().unwrap().iter().find(|c| c["part"] == "discord").unwrap();
    assert_eq!(discord["status"], "off", "an unconfigured part is not an error");
}

/// Guarantee: Telegram's webhook is never open to anyone who can reach the
/// listener. Webhook mode without a secret does not start, and doctor
/// calls it an error.
#[test]
fn telegram_webhook_mode_without_a_secret_is_refused_by_serve_and_doctor() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let env = [
        ("STEWARD_API_TOKEN", TOKEN.to_owned()),
        ("STEWARD_TELEGRAM__TOKEN", "123456:AAH-very-secret-bot-token".to_owned()),
        ("STEWARD_TELEGRAM__API_URL", format!("http://{closed}")),
        ("STEWARD_TELEGRAM__MODE", "webhook".to_owned()),
        ("STEWARD_TELEGRAM__WEBHOOK_URL", "https://steward.example/telegram/webhook".to_owned()),
    ];
    let run = |args: &[&str]| {
        let mut cmd = steward();
        cmd.current_dir(dir.path()).arg("--data-dir").arg(dir.path().join("data")).args(args);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let serve = run(&["serve", "--addr", "127.0.0.1:0"]);
    assert_ne!(serve.status.code(), Some(0));
    assert!(stderr(&serve).contains("telegram.webhook_secret"), "{}", stderr(&serve));
    assert!(!stderr(&serve).contains("very-secret"));
    let doctor = run(&["doctor", "--json"]);
    assert_eq!(doctor.status.code(), Some(1), "{}", stdout(&doctor));
    let checks: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let telegram = checks.as_array().unwrap().iter().find(|c| c["part"] == "telegram").unwrap();
    assert_eq!(telegram["status"], "error");
    assert!(telegram["detail"].as_str().unwrap().contains("webhook_secret"), "{telegram}");
}

#[test]
fn read_commands_refuse_a_data_dir_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["intents", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no database at"), "{}", stderr(&out));
    assert!(!dir.path().join("data/steward.db").exists());
}

#[tokio::test]
async fn intents_can_be_cancelled_and_shown_from_the_cli() {
    use steward::domain::{Intent, IntentText, Provenance};
    let dir = tempfile::tempdir().unwrap();
    let store = steward::store::Store::open(&dir.path().join("data/steward.db"), &Default::default()).await.unwrap();
    let intent = Intent::new(IntentText::parse("tidy the inbox").unwrap(), Provenance::operator("cli", "me"), None, 1);
    steward::store::intents::create(&store, intent.clone(), None).await.unwrap();
    store.close().await;
    let id = intent.id.to_string();

    let out = run_in(dir.path(), &["intents", "cancel", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), format!("intent {id} is now cancelled"));
    let again = run_in(dir.path(), &["intents", "cancel", &id]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("is cancelled: there is nothing left to cancel"), "{}", stderr(&again));
    let retry = run_in(dir.path(), &["intents", "retry", &id]);
    assert_eq!(retry.status.code(), Some(2), "a cancelled intent cannot be retried");

    let shown = run_in(dir.path(), &["intents", "show", &id]);
    let text = stdout(&shown);
    assert!(
        text.contains("intent.created") && text.contains("\"to\":\"cancelled\"") && text.contains("by cli"),
        "{text}"
    );
    let unknown = run_in(dir.path(), &["intents", "show", "01J00000000000000000000000"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("not found"), "{}", stderr(&unknown));
}

/// Tracing: with the JSON log on, `intents show --log` prints what was
/// logged about that intent (its spans carry its id), and nothing else.
#[tokio::test]
async fn intents_show_prints_the_log_lines_of_its_intent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log_path = dir.path().join("serve.log");
    let envs = [("STEWARD_API_TOKEN", TOKEN), ("STEWARD_LOG__FORMAT", "json"), ("RUST_LOG", "steward=debug")];
    let serve = ServeProcess::start_logging(&data, &envs, std::fs::File::create(&log_path).unwrap());
    let mut ids = Vec::new();
    for text in ["note one", "note two"] {
        let plan = serde_json::json!({"steps": [{"adapter": "note", "action": "write", "args": {"text": text}}]});
        let created = serve.call("/v1/intents", serde_json::json!({"text": text, "plan": plan})).await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        serve.wait_for(id, "succeeded").await;
    }
    drop(serve);
    let log = log_path.to_str().unwrap();
    let shown = run_in(dir.path(), &["intents", "show", &ids[0], "--log", log, "--json"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let shown: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    let lines = shown["log"].as_array().unwrap();
    assert!(!lines.is_empty(), "the intent's lines are found: {shown}");
    let text = serde_json::to_string(lines).unwrap();
    assert!(text.contains("step outcome recorded") && text.contains(&ids[0]), "{text}");
    assert!(!text.contains(&ids[1]), "another intent's lines are not its: {text}");
    let missing = run_in(dir.path(), &["intents", "show", &ids[0], "--log", "/nonexistent/serve.log"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read the log"), "{}", stderr(&missing));
}

#[test]
fn memory_commands_add_search_reindex_and_forget() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        steward().arg("--data-dir").arg(&data).env("STEWARD_EMBEDDING__BACKEND", "hash").args(args).output().unwrap()
    };
    // The database comes from a first start.
    drop(ServeProcess::start(&data, &[("STEWARD_EMBEDDING__BACKEND", "hash")]));
    let added = run(&["memory", "add", "Wonka wants the chocolate river audit by Friday", "--tag", "wonka", "--json"]);
    assert!(added.status.success(), "{}", stderr(&added));
    let id = serde_json::from_slice::<serde_json::Value>(&added.stdout).unwrap()["ids"][0].as_str().unwrap().to_owned();
    run(&["memory", "add", "Lunch menu: soup", "--scope", "team"]);

    let found = run(&["memory", "search", "chocolate audit", "--json"]);
    let hits: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(hits["items"][0]["id"], id.as_str());
    let reindexed = run(&["memory", "reindex"]);
    assert!(stdout(&reindexed).contains("reindexed 2 records with hash into edge"), "{}", stdout(&reindexed));
    let stats: serde_json::Value = serde_json::from_slice(&run(&["memory", "stats", "--json"]).stdout).unwrap();
    assert_eq!((stats["records"].as_i64(), stats["vectors"].as_i64()), (Some(2), Some(2)), "{stats}");

    let preview = run(&["memory", "forget", "--query", "chocolate"]);
    assert!(stdout(&preview).contains("1 records match; run again with --yes"), "{}", stdout(&preview));
    assert!(stdout(&run(&["memory", "forget", &id])).contains("forgot 1 record"));
    let gone = run(&["memory", "forget", &id]);
    assert_eq!(gone.status.code(), Some(2));
    assert!(stderr(&gone).contains("no memory record"), "{}", stderr(&gone));

    // While steward serves, the commands go through its API: no lock error.
    let mut serve = ServeProcess::start(&data, &[("STEWARD_EMBEDDING__BACKEND", "hash")]);
    let added = run(&["memory", "add", "Umbrella renews in May", "--occurred-at", "2025-01-15", "--json"]);
    assert!(added.status.success(), "{}", stderr(&added));
    let found = run(&["memory", "search", "Umbrella renews", "--json"]);
    let hits: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(hits["items"][0]["occurred_at"], "2025-01-15T00:00:00Z", "its own date: {hits}");
    let stats: serde_json::Value = serde_json::from_slice(&run(&["memory", "stats", "--json"]).stdout).unwrap();
    assert_eq!(stats["records"], 2, "{stats}");
    // A reindex is the server's own: it empties the index, its indexer
    // embeds every record again, and the command follows it to the end.
    let rebuilt = run(&["memory", "reindex"]);
    assert!(rebuilt.status.success(), "{}", stderr(&rebuilt));
    assert!(stdout(&rebuilt).contains("reindexed 2 records by the running server"), "{}", stdout(&rebuilt));
    let stats: serde_json::Value = serde_json::from_slice(&run(&["memory", "stats", "--json"]).stdout).unwrap();
    assert_eq!(stats["awaiting_vectors"], 0, "every record has its vector again: {stats}");
    assert_eq!(stats["vectors"], 2, "{stats}");
    serve.signal("TERM");
    assert_eq!(serve.wait_exit(), Some(0));
    assert!(!data.join("serve.url").exists(), "gone with the server");
    // A server killed outright leaves its address behind; the lock says
    // nobody serves, and the commands open memory themselves.
    let serve = ServeProcess::start(&data, &[("STEWARD_EMBEDDING__BACKEND", "hash")]);
    serve.signal("KILL");
    drop(serve);
    assert!(run(&["memory", "reindex"]).status.success(), "no server holds the data directory");
}

#[tokio::test]
async fn workflows_are_checked_listed_run_and_paused_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("workflows");
    std::fs::create_dir_all(&flows).unwrap();
    let good = r#"
name = "daily-note"
description = "A note every morning"
[params.topic]
type = "string"
default = "the day"
[[triggers]]
kind = "cron"
cron = "0 8 * * *"
timezone = "Europe/Berlin"
[[steps]]
action = "note.write"
args = { text = "Plan for {{ params.topic }}" }
"#;
    std::fs::write(flows.join("daily.toml"), good).unwrap();
    let checked = run_in(dir.path(), &["workflows", "check", "workflows/daily.toml"]);
    assert!(checked.status.success(), "{}", stderr(&checked));
    let out = stdout(&checked);
    assert!(out.contains("valid workflow `daily-note`"), "{out}");
    assert!(out.contains("trigger cron (cron): next at") && out.contains("Europe/Berlin"), "{out}");
    std::fs::write(dir.path().join("broken.toml"), good.replace("note.write", "note.shred")).unwrap();
    let refused = run_in(dir.path(), &["workflows", "check", "broken.toml"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("line 11: step `step-1`: `note` has no action `shred`"), "{}", stderr(&refused));

    let listed = run_in(dir.path(), &["workflows", "list"]);
    assert!(stdout(&listed).contains("daily-note"), "{}", stdout(&listed));
    // A run is written into the store a server reads; it needs one.
    let store = steward::store::Store::open(&dir.path().join("data/steward.db"), &Default::default()).await.unwrap();
    store.close().await;
    let ran = run_in(dir.path(), &["workflows", "run", "daily-note", "--arg", "topic=the launch"]);
    assert!(ran.status.success(), "{}", stderr(&ran));
    let id = stdout(&ran).trim().to_owned();
    assert_eq!(id.len(), 26, "an intent id: {id}");
    let runs = run_in(dir.path(), &["workflows", "runs", "daily-note", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&stdout(&runs)).unwrap();
    assert_eq!(runs["items"][0]["intent_id"], id.as_str());
    assert_eq!(runs["items"][0]["args"]["topic"], "the launch");
    let bad = run_in(dir.path(), &["workflows", "run", "daily-note", "--arg", "subject=x"]);
    assert!(!bad.status.success() && stderr(&bad).contains("`subject` is no parameter"), "{}", stderr(&bad));
    assert!(run_in(dir.path(), &["workflows", "pause", "daily-note"]).status.success());
    let shown: serde_json::Value =
        serde_json::from_str(&stdout(&run_in(dir.path(), &["workflows", "list", "--json"]))).unwrap();
    assert_eq!((&shown["items"][0]["name"], &shown["items"][0]["paused"]), (&"daily-note".into(), &true.into()));

    // A broken file in the folder: doctor names it, and the others still load.
    std::fs::write(flows.join("broken.toml"), good.replace("note.write", "note.shred")).unwrap();
    let doctor: serde_json::Value = serde_json::from_str(&stdout(&run_in(dir.path(), &["doctor", "--json"]))).unwrap();
    let check = doctor.as_array().unwrap().iter().find(|c| c["part"] == "workflows").unwrap();
    assert_eq!(check["status"], "error", "{check}");
    assert!(check["detail"].as_str().unwrap().contains("broken.toml refused: line 11"), "{check}");
    let listed = run_in(dir.path(), &["workflows", "list"]);
    assert!(stdout(&listed).contains("daily-note") && stderr(&listed).contains("broken.toml refused"));
}

/// A workflow's question answered from the CLI while steward serves: by a
/// choice's number; an answer that is none of its choices is refused with
/// them and changes nothing.
#[tokio::test]
async fn a_workflows_question_is_answered_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("workflows")).unwrap();
    let ship = r#"
name = "ship"
description = "Ask, then note the answer"
[[triggers]]
kind = "command"
[[steps]]
id = "go"
ask = "Ship the release?"
choices = ["yes", "no"]
[[steps]]
action = "note.write"
args = { text = "Answered {{ steps.go.answer }}" }
"#;
    std::fs::write(data.join("workflows/ship.toml"), ship).unwrap();
    let run = |args: &[&str]| steward().arg("--data-dir").arg(&data).args(args).output().unwrap();
    let mut serve = ServeProcess::start(&data, &[("STEWARD_API_TOKEN", TOKEN)]);
    let started = serve.call("/v1/workflows/ship/runs", serde_json::json!({"args": {}})).await;
    let intent = started["intent_id"].as_str().unwrap_or_else(|| panic!("{started}")).to_owned();
    let pending =
        || serde_json::from_slice::<serde_json::Value>(&run(&["approvals", "list", "--json"]).stdout).unwrap();
    until("the question", || async { pending()["items"][0]["id"].is_string() }).await;
    let approval = pending()["items"][0]["id"].as_str().unwrap().to_owned();
    let refused = run(&["approvals", "answer", &approval, "maybe"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("yes, no"), "the choices are named: {}", stderr(&refused));
    let answered = run(&["approvals", "answer", &approval, "1"]);
    assert!(answered.status.success(), "{}", stderr(&answered));
    assert!(stdout(&answered).contains("answered `yes`"), "{}", stdout(&answered));
    let done = serve.wait_for(&intent, "succeeded").await;
    assert_eq!(done["state"], "succeeded", "{done}");
    serve.signal("TERM");
    assert_eq!(serve.wait_exit(), Some(0));
}
