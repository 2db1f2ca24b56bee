//! Nothing risky happens without an approval, even when a host name changes
//! where it points after the policy judged it (DNS rebinding): a step
//! connects only to addresses of the kinds the policy saw. Against the real
//! server, a name server stand-in and a real HTTP receiver on loopback.

#[path = "support/dns.rs"]
mod dns;
mod helpers;
#[path = "support/receiver.rs"]
mod receiver;

use std::net::IpAddr;

use dns::FakeDns;
use helpers::TestApp;
use receiver::{Faults, Receiver};
use serde_json::{Value, json};

async fn submit(app: &TestApp, url: &str) -> String {
    let step = json!({"adapter": "webhook", "action": "call", "args": {"url": url, "body": {"n": 1}}});
    let body = json!({"text": "tell the hook", "plan": {"steps": [step]}});
    let res = app.post("/v1/intents").json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn approve(app: &TestApp, intent: &str) {
    let list: Value = app.get("/v1/approvals").send().await.unwrap().json().await.unwrap();
    let approval = list["items"].as_array().unwrap().iter().find(|a| a["intent_id"] == intent).expect("an approval");
    let path = format!("/v1/approvals/{}/decision", approval["id"].as_str().unwrap());
    let res = app.post(&path).json(&json!({"decision": "approve"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

async fn start(dns: &FakeDns) -> TestApp {
    let server = dns.addr;
    TestApp::spawn_with(move |c| c.dns.servers = vec![server]).await
}

#[tokio::test]
async fn a_name_judged_public_that_rebinds_to_this_machine_after_approval_reaches_nothing() {
    let recv = Receiver::start(Faults::default(), 1).await;
    let dns = FakeDns::start().await;
    dns.set("hooks.example", &[ip("203.0.113.7")]);
    let app = start(&dns).await;
    let id = submit(&app, &format!("http://hooks.example:{}/hook/ok", recv.addr.port())).await;
    // An unlisted public host: approved first, judged by where it points.
    let waiting = app.wait_for(&id, "awaiting_approval").await;
    assert!(dns.asked("hooks.example") >= 1, "the policy asked the configured name server");
    assert!(!waiting.to_string().contains("internal address"), "judged public: {waiting:#}");

    // Once approved, the name points at this machine, where the receiver
    // listens: the call must not reach it.
    dns.set("hooks.example", &[ip("127.0.0.1")]);
    approve(&app, &id).await;
    let failed = app.wait_for(&id, "failed").await;
    let shown = failed.to_string();
    assert!(shown.contains("DNS rebinding") && shown.contains("127.0.0.1 (loopback)"), "{failed:#}");
    assert!(recv.tally().deliveries.is_empty(), "the rebound name reached nothing");
    app.stop().await;
}

#[tokio::test]
async fn a_name_judged_at_this_machine_and_approved_reaches_it() {
    let recv = Receiver::start(Faults::default(), 2).await;
    let dns = FakeDns::start().await;
    dns.set("hooks.example", &[ip("127.0.0.1")]);
    let app = start(&dns).await;
    let id = submit(&app, &format!("http://hooks.example:{}/hook/ok", recv.addr.port())).await;
    let waiting = app.wait_for(&id, "awaiting_approval").await;
    assert_eq!(waiting["risk"], "high", "{waiting:#}");
    approve(&app, &id).await;
    app.wait_for(&id, "succeeded").await;
    assert_eq!(recv.tally().deliveries.get(&format!("steward-{id}-0")), Some(&1), "held to what was judged, it runs");
    app.stop().await;
}

#[tokio::test]
async fn a_name_server_that_does_not_answer_leaves_the_name_judged_at_its_worst() {
    let recv = Receiver::start(Faults::default(), 3).await;
    let dns = FakeDns::start().await;
    let server = dns.addr;
    // hooks.example is a listed host, so only the internal-address rule can
    // hold the call; the name server does not know it, so the policy cannot
    // tell where it goes, and that rule holds.
    let app = TestApp::spawn_with(move |c| {
        c.dns.servers = vec![server];
        let path = c.data_dir.join("policy.toml");
        let unknown = "when = [{ arg = \"url\", host_not_in = [] }]";
        let listed = "when = [{ arg = \"url\", host_not_in = [\"hooks.example\"] }]";
        assert!(steward::policy::DEFAULT.contains(unknown), "the built-in rule for unknown hosts");
        let text = steward::policy::DEFAULT.replace(unknown, listed);
        std::fs::write(&path, text).unwrap();
        c.policy.path = Some(path);
    })
    .await;
    let id = submit(&app, &format!("http://hooks.example:{}/hook/ok", recv.addr.port())).await;
    let waiting = app.wait_for(&id, "awaiting_approval").await;
    assert_eq!(waiting["risk"], "high", "{waiting:#}");
    assert!(recv.tally().deliveries.is_empty());
    app.stop().await;
}
