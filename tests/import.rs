//! `steward import` end to end, through the binary: a 500-file notes folder
//! imported twice adds each record once, an edited file has only its
//! changed section replaced, and chat exports and an mbox keep their
//! authors and dates and import once.

mod helpers;

use std::path::Path;

use helpers::{ServeProcess, stderr, steward};
use serde_json::{Value, json};

const HASH: (&str, &str) = ("STEWARD_EMBEDDING__BACKEND", "hash");

fn run(data: &Path, args: &[&str]) -> Value {
    let out = steward().arg("--data-dir").arg(data).env(HASH.0, HASH.1).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn counts(s: &Value) -> (i64, i64, i64, i64) {
    let n = |k: &str| s[k].as_i64().unwrap();
    (n("added"), n("skipped"), n("removed"), n("refused"))
}

/// Guarantee: importing the same folder again adds nothing, editing one
/// file changes only that file's records, and a deleted file's records go
/// only when the import is told to prune.
#[test]
fn a_notes_folder_imported_twice_adds_each_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ServeProcess::start(&data, &[HASH]));
    let notes = dir.path().join("notes");
    for i in 0..500 {
        let folder = notes.join(format!("client-{}", i % 10));
        std::fs::create_dir_all(&folder).unwrap();
        let text = format!(
            "# Client {i}\nClient {i} pays net {} days.\n\n## Contact\nAsk for person {i} at extension {}.\n",
            15 + i % 4 * 15,
            1000 + i
        );
        std::fs::write(folder.join(format!("note-{i}.md")), text).unwrap();
    }
    std::fs::write(notes.join("binary.md"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    std::fs::write(notes.join(".hidden.md"), "# secret\nnot imported").unwrap();

    let first = run(&data, &["import", "notes", notes.to_str().unwrap(), "--json"]);
    assert_eq!(counts(&first), (1000, 0, 0, 1), "{first}");
    assert_eq!(first["files"], 501, "{first}");
    assert_eq!(first["refusals"][0][1], "not UTF-8 text", "{first}");
    let again = run(&data, &["import", "notes", notes.to_str().unwrap(), "--json"]);
    assert_eq!(counts(&again), (0, 1000, 0, 1), "everything skipped: {again}");

    // One file edited: its changed section is replaced, nothing else moves.
    let edited = notes.join("client-7/note-7.md");
    let text = std::fs::read_to_string(&edited).unwrap().replace("pays net 60 days", "pays net 90 days");
    std::fs::write(&edited, text).unwrap();
    let third = run(&data, &["import", "notes", notes.to_str().unwrap(), "--json"]);
    assert_eq!(counts(&third), (1, 999, 1, 1), "{third}");

    let found = run(&data, &["memory", "search", "client 7 pays net days", "--json", "--limit", "3"]);
    let texts: Vec<&str> = found["items"].as_array().unwrap().iter().map(|h| h["text"].as_str().unwrap()).collect();
    assert!(texts.iter().any(|t| t.contains("Client 7 pays net 90 days")), "{texts:?}");
    assert!(!texts.iter().any(|t| t.contains("Client 7 pays net 60 days")), "the old text is gone: {texts:?}");
    let stats = run(&data, &["memory", "stats", "--json"]);
    assert_eq!((stats["records"].as_i64(), stats["awaiting_vectors"].as_i64()), (Some(1000), Some(0)), "{stats}");

    // A file deleted: its records stay, unless the import is told to prune.
    std::fs::remove_file(notes.join("client-3/note-3.md")).unwrap();
    let kept = run(&data, &["import", "notes", notes.to_str().unwrap(), "--json"]);
    assert_eq!((counts(&kept), kept["pruned"].as_i64()), ((0, 998, 0, 1), Some(0)), "{kept}");
    let pruned = run(&data, &["import", "notes", notes.to_str().unwrap(), "--prune", "--json"]);
    assert_eq!((counts(&pruned), pruned["pruned"].as_i64()), ((0, 998, 0, 1), Some(2)), "{pruned}");
    let gone = run(&data, &["memory", "search", "person 3 at extension 1003", "--json", "--limit", "10"]);
    assert!(!gone.to_string().contains("extension 1003"), "the deleted file's records are gone: {gone}");
    let stats = run(&data, &["memory", "stats", "--json"]);
    assert_eq!(stats["records"].as_i64(), Some(998), "{stats}");
    let mbox = dir.path().join("x.mbox");
    std::fs::write(&mbox, "").unwrap();
    let args = ["import", "mbox", mbox.to_str().unwrap(), "--prune"];
    let refused = steward().arg("--data-dir").arg(&data).args(args).output().unwrap();
    assert!(!refused.status.success() && stderr(&refused).contains("--prune is for a notes folder"));
}

#[test]
fn chat_exports_and_mailboxes_keep_their_authors_and_dates_and_import_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ServeProcess::start(&data, &[HASH]));
    let telegram = dir.path().join("result.json");
    let tg = json!({"name": "Anna", "type": "personal_chat", "id": 42, "messages": [
        {"id": 1, "type": "message", "date": "2024-05-02T09:30:00", "date_unixtime": "1714642200",
         "from": "Anna", "from_id": "user7", "text": "The Lisbon lease starts in June."},
        {"id": 2, "type": "message", "date_unixtime": "1714642260", "from": "Me", "text": "Who signs it?"}]});
    std::fs::write(&telegram, tg.to_string()).unwrap();
    let discord = dir.path().join("general.json");
    let dc = json!({"guild": {"name": "Studio"}, "channel": {"id": "9", "name": "general"}, "messages": [
        {"id": "5", "type": "Default", "timestamp": "2024-06-01T10:00:00+00:00", "content": "Ship the beta on Friday.",
         "author": {"id": "1", "name": "lena"}}]});
    std::fs::write(&discord, dc.to_string()).unwrap();
    let mbox = dir.path().join("inbox.mbox");
    std::fs::write(
        &mbox,
        "From a@x Mon Mar  3 09:30:00 2025\nFrom: Anna <anna@globex.example>\nSubject: Terms\n\
         Date: Mon, 3 Mar 2025 09:30:00 +0000\nMessage-ID: <m1@x>\n\nGlobex pays net 30.\n",
    )
    .unwrap();

    for (format, path, added) in [("telegram", &telegram, 2), ("discord", &discord, 1), ("mbox", &mbox, 1)] {
        let first = run(&data, &["import", format, path.to_str().unwrap(), "--json"]);
        assert_eq!(counts(&first), (added, 0, 0, 0), "{format}: {first}");
        let again = run(&data, &["import", format, path.to_str().unwrap(), "--json"]);
        assert_eq!(counts(&again), (0, added, 0, 0), "{format}: {again}");
    }
    let found = run(&data, &["memory", "search", "Lisbon lease", "--json", "--limit", "1"]);
    let hit = &found["items"][0];
    assert_eq!((hit["kind"].as_str(), hit["provenance"]["actor"].as_str()), (Some("statement"), Some("Anna")), "{hit}");
    assert_eq!(hit["occurred_at"], "2024-05-02T09:30:00Z", "its own date, not the import's: {hit}");
    let asked = run(&data, &["memory", "search", "who signs", "--json", "--kind", "question"]);
    assert_eq!(asked["items"][0]["text"], "Who signs it?", "{asked}");
    let mail = run(&data, &["memory", "search", "Globex net 30", "--json"]);
    assert_eq!(mail["items"][0]["provenance"]["actor"], "Anna <anna@globex.example>", "{mail}");

    let bad =
        steward().arg("--data-dir").arg(&data).args(["import", "telegram", mbox.to_str().unwrap()]).output().unwrap();
    assert!(bad.status.success(), "a file that is no export is refused, not an error: {}", stderr(&bad));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("refused"), "{}", String::from_utf8_lossy(&bad.stdout));
}
