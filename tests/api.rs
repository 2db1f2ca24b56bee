//! The HTTP API against the real server on a loopback port.

mod helpers;

use helpers::{TOKEN, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn webhook_plan() -> Value {
    json!({"text": "send the invoice to ACME", "reason": "month end",
           "plan": {"steps": [{"adapter": "webhook", "action": "call", "args": {"url": "http://127.0.0.1:9/x"}}]}})
}

async fn count_intents(app: &TestApp) -> usize {
    let page: Value = app.get("/v1/intents?limit=200").send().await.unwrap().json().await.unwrap();
    page["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn every_v1_route_needs_the_bearer_token() {
    let app = TestApp::spawn().await;
    let routes = [("GET", "/v1/intents"), ("POST", "/v1/intents"), ("GET", "/v1/intents/01J0000000000000000000000")];
    for (method, path) in routes {
        for auth in [None, Some("wrong-token"), Some("")] {
            let mut req = app.client.request(method.parse().unwrap(), app.url(path)).json(&webhook_plan());
            if let Some(token) = auth {
                req = req.bearer_auth(token);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path} with {auth:?}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
    // The token is checked before anything is written.
    assert_eq!(count_intents(&app).await, 0);
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_retried_request_with_the_same_idempotency_key_returns_the_same_intent() {
    let app = TestApp::spawn().await;
    let send =
        |key: &'static str, body: Value| app.post("/v1/intents").header("Idempotency-Key", key).json(&body).send();

    let first = send("order-77", webhook_plan()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    // Answered once the policy has judged it: the runner has let it in, or
    // holds it for approval (127.0.0.1 is no listed host).
    assert_ne!(first["state"], "planned", "{first}");
    assert_ne!(first["risk"], "not_judged", "{first}");
    assert_eq!(first["steps"][0]["idempotency_key"], format!("steward-{}-0", first["id"].as_str().unwrap()));

    let again = send("order-77", webhook_plan()).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);

    let reused = send("order-77", json!({"text": "something else"})).await.unwrap();
    assert_eq!(reused.status(), StatusCode::CONFLICT);
    assert_eq!(reused.json::<Value>().await.unwrap()["error"]["code"], "idempotency_key_reused");

    // Racing retries of one request still make one intent.
    let racing: Vec<_> = (0..12).map(|_| send("order-78", webhook_plan())).collect();
    let mut ids = std::collections::HashSet::new();
    for res in futures_util::future::join_all(racing).await {
        let res = res.unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        ids.insert(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(count_intents(&app).await, 2, "one intent per idempotency key");

    // Without a key, every request is a new intent.
    for _ in 0..2 {
        assert_eq!(app.post("/v1/intents").json(&webhook_plan()).send().await.unwrap().status(), StatusCode::CREATED);
    }
    assert_eq!(count_intents(&app).await, 4);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named_and_changes_nothing() {
    let app = TestApp::spawn_with(|c| c.http.body_limit_bytes = 4096).await;
    let cases = [
        (json!({"text": "   "}), "text"),
        (json!({"text": "x", "plan": {"steps": []}}), "plan.steps"),
        (json!({"text": "x", "plan": {"steps": [{"adapter": "Web Hook", "action": "post"}]}}), "plan.steps[0].adapter"),
        (
            json!({"text": "x", "plan": {"steps": [{"adapter": "webhook", "action": "call", "args": [1]}]}}),
            "plan.steps[0].args",
        ),
        (json!({"text": "x", "colour": "red"}), "colour"),
        (json!({"text": 5}), "string"),
    ];
    for (body, needle) in cases {
        let res = app.post("/v1/intents").json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], "invalid_request");
        assert!(err["error"]["message"].as_str().unwrap().contains(needle), "{err} should name {needle}");
    }
    let not_json =
        app.post("/v1/intents").header("content-type", "application/json").body("{oops").send().await.unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(not_json.json::<Value>().await.unwrap()["error"]["code"], "invalid_request");

    let huge = json!({"text": "x".repeat(10_000)});
    let res = app.post("/v1/intents").json(&huge).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "body_too_large");

    let res = app.get("/v1/intents?state=done").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("needs_attention"), "the error lists the valid states");
    assert_eq!(app.get("/v1/intents?limit=0").send().await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/v1/intents/not-a-ulid").send().await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/v1/intents/01J0000000000000000000000A").send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let unknown = app.get("/v1/nothing-here").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"]["code"], "not_found");

    assert_eq!(count_intents(&app).await, 0, "no bad request created anything");
    app.stop().await;
}

#[tokio::test]
async fn intents_list_by_state_in_pages_and_show_their_audit_trail() {
    let app = TestApp::spawn().await;
    let mut created = vec![];
    for i in 0..5 {
        let body = if i % 2 == 0 { webhook_plan() } else { json!({"text": format!("think about {i}")}) };
        let res: Value = app.post("/v1/intents").json(&body).send().await.unwrap().json().await.unwrap();
        created.push(res["id"].as_str().unwrap().to_owned());
    }
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/intents?limit=2&cursor={c}"),
            None => "/v1/intents?limit=2".into(),
        };
        let page: Value = app.get(&path).send().await.unwrap().json().await.unwrap();
        seen.extend(page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut expected = created.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(seen, expected, "pages cover every intent once, newest first");

    let received: Value = app.get("/v1/intents?state=received").send().await.unwrap().json().await.unwrap();
    assert_eq!(received["items"].as_array().unwrap().len(), 2);

    let shown: Value = app.get(&format!("/v1/intents/{}", created[0])).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown["reason"], "month end");
    assert_eq!(shown["steps"].as_array().unwrap().len(), 1);
    assert_eq!(shown["audit"][0]["action"], "intent.created");
    assert_eq!(shown["audit"][0]["detail"]["policy_version"], "none");
    app.stop().await;
}

#[tokio::test]
async fn operations_endpoints_answer_without_a_token() {
    let app = TestApp::spawn().await;
    app.post("/v1/intents").json(&json!({"text": "plan this later"})).send().await.unwrap();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["checks"]["embedding"], "hash", "the embedding model in use: {ready}");
    assert_eq!(ready["checks"]["vector_index"], "ok", "{ready}");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("steward_intents{state=\"received\"} 1"), "{metrics}");
    assert!(metrics.contains("steward_outbox_pending 0"), "{metrics}");
    assert!(metrics.contains("steward_intents_created_total 1"), "{metrics}");
    let spec: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(spec["paths"]["/v1/intents"]["post"].is_object());
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
    assert!(!TOKEN.is_empty());
    app.stop().await;
}

/// The 201 tells the truth when it is sent: a plan the policy holds for
/// approval answers with the risk and policy that hold it, and an intent no
/// policy has judged yet says so instead of showing a default "low".
#[tokio::test]
async fn a_new_intent_answers_with_the_risk_the_policy_gave_it() {
    let app = TestApp::spawn().await;
    let plan =
        json!({"steps": [{"adapter": "webhook", "action": "call", "args": {"url": "https://hooks.example.net/x"}}]});
    let res =
        app.post("/v1/intents").json(&json!({"text": "call the partner hook", "plan": plan})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let made: Value = res.json().await.unwrap();
    assert_eq!(made["risk"], "high", "{made:#}");
    assert_ne!(made["policy_version"], "none", "{made:#}");
    assert_eq!(made["state"], "awaiting_approval", "{made:#}");
    let res = app.post("/v1/intents").json(&json!({"text": "plan this later"})).send().await.unwrap();
    let unplanned: Value = res.json().await.unwrap();
    assert_eq!(unplanned["risk"], "not_judged", "{unplanned:#}");
    app.stop().await;
}

/// Every route the server mounts (read from the router's source, so a new
/// route cannot be forgotten), with the method it is mounted for.
fn mounted_routes() -> Vec<(String, String)> {
    let mut routes = Vec::new();
    for (file, prefix_v1) in [("src/api/mod.rs", true), ("src/channels/telegram/webhook.rs", false)] {
        let text = std::fs::read_to_string(file).unwrap();
        let v1_block = text.find("let v1 = Router::new()").unwrap_or(usize::MAX);
        let v1_end = text[v1_block.min(text.len())..].find("route_layer").map_or(0, |e| e + v1_block);
        for (at, _) in text.match_indices(".route(") {
            let rest = &text[at + 7..];
            let path = rest.trim_start().trim_start_matches('"');
            let path = &path[..path.find('"').unwrap()];
            let call = &rest[..rest.find("\n        .").unwrap_or(rest.len()).min(400)];
            let full = if prefix_v1 && at > v1_block && at < v1_end { format!("/v1{path}") } else { path.to_owned() };
            for method in ["get", "post", "delete", "put", "patch"] {
                let named = format!("{method}(");
                let direct = call.contains(&format!(" {named}")) || call.contains(&format!("({named}"));
                if direct || call.contains(&format!("routing::{named}")) || call.contains(&format!(".{named}")) {
                    routes.push((full.clone(), method.to_owned()));
                }
            }
        }
    }
    routes
}

/// `/openapi.json` passes a real OpenAPI validator (installed into the test
/// venv by scripts/test.sh), describes every mounted route, and lists the
/// errors each can answer with.
#[tokio::test]
async fn the_openapi_description_is_valid_and_describes_every_route_with_its_errors() {
    let app = TestApp::spawn().await;
    let text = app.client.get(app.url("/openapi.json")).send().await.unwrap().text().await.unwrap();
    app.stop().await;
    let file = tempfile::NamedTempFile::with_suffix(".json").unwrap();
    std::fs::write(file.path(), &text).unwrap();
    let checked = std::process::Command::new("openapi-spec-validator").arg(file.path()).output().unwrap_or_else(|e| {
        panic!("openapi-spec-validator ({e}): run scripts/test.sh, which installs it into the test venv")
    });
    let said = format!("{}{}", String::from_utf8_lossy(&checked.stdout), String::from_utf8_lossy(&checked.stderr));
    assert!(checked.status.success(), "the validator refused /openapi.json: {said}");

    let spec: Value = serde_json::from_str(&text).unwrap();
    let routes = mounted_routes();
    assert!(routes.len() >= 25, "the router's source was read: {routes:?}");
    for (path, method) in &routes {
        let op = &spec["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is mounted but not described");
        let codes: Vec<&str> = op["responses"].as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = vec!["408"];
        if path.starts_with("/v1/") {
            expected.push("401");
        }
        if path.contains('{') {
            expected.extend(["400", "404"]);
        }
        if op["requestBody"].is_object() {
            expected.extend(["400", "413", "415", "422"]);
        }
        for code in expected {
            assert!(codes.contains(&code), "{method} {path} does not list {code}: {codes:?}");
        }
    }
    let described: usize = spec["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(described, routes.len(), "every described operation is mounted: {routes:?}");
}

/// `/metrics` has the histograms (intent end to end, step by adapter,
/// reasoning by tier, memory search), the gauges (approvals waiting,
/// vectors pending, channels, breaker, audit rows) and the build's version.
#[tokio::test]
async fn metrics_time_intents_steps_reasoning_and_search_and_gauge_what_waits() {
    let app = TestApp::spawn().await;
    let note =
        json!({"text": "note it", "plan": {"steps": [{"adapter": "note", "action": "write", "args": {"text": "hi"}}]}});
    let id = app.call("/v1/intents", note).await["id"].as_str().unwrap().to_owned();
    app.wait_for(&id, "succeeded").await;
    let held = json!({"text": "call them", "plan": {"steps": [{"adapter": "webhook", "action": "call", "args": {"url": "https://hooks.example.net/x"}}]}});
    let held = app.call("/v1/intents", held).await["id"].as_str().unwrap().to_owned();
    app.wait_for(&held, "awaiting_approval").await;
    app.call("/v1/messages", json!({"text": "what's pending?"})).await;
    app.call("/v1/memory/search", json!({"query": "note"})).await;
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    app.stop().await;
    for expected in [
        "# TYPE steward_intent_seconds histogram\n",
        "steward_intent_seconds_count{state=\"succeeded\"} 1\n",
        "steward_step_seconds_count{adapter=\"note\",outcome=\"succeeded\"} 1\n",
        "steward_reasoning_seconds_count{tier=\"0\"} 1\n",
        "steward_memory_search_seconds_bucket{degraded=\"no\",le=\"+Inf\"} ",
        "steward_approvals_waiting{risk=\"high\"} 1\n",
        "steward_approvals_waiting{risk=\"low\"} 0\n",
        "steward_vectors_pending ",
        "steward_breaker_open 0\n",
        "steward_build_info{version=\"",
    ] {
        assert!(metrics.contains(expected), "{expected:?} is missing from:\n{metrics}");
    }
    let audit_rows: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("steward_audit_rows "))
        .and_then(|v| v.parse().ok())
        .expect("steward_audit_rows");
    assert!(audit_rows >= 4.0, "{metrics}");
}
