//! steward against the OpenAI-compatible servers people run: the output
//! cap reaches a server that honours only `max_tokens` (llama.cpp's server,
//! Ollama, vLLM), and one that wants only `max_completion_tokens` can be
//! given just that.

mod helpers;
#[path = "support/openai.rs"]
mod openai;

use helpers::TestApp;
use openai::{Reply, ScriptedLlm};
use serde_json::{Value, json};
use steward::config::MaxTokensField;

#[tokio::test]
async fn the_output_cap_reaches_a_server_that_honours_only_max_tokens() {
    let llm = ScriptedLlm::start().await;
    llm.honour_only_max_tokens();
    // A long-winded answer: about 700 tokens.
    let long = json!({"kind": "action", "confidence": 0.9, "summary": "a note ".repeat(400),
        "step": {"adapter": "note", "action": "write", "args": {"text": "x"}}});
    for (field, capped) in
        [(MaxTokensField::Both, true), (MaxTokensField::MaxTokens, true), (MaxTokensField::MaxCompletionTokens, false)]
    {
        let app = TestApp::spawn_with(|c| {
            c.llm.fast.base_url = Some(llm.base_url());
            c.llm.fast.model = Some("scripted".into());
            c.llm.fast.timeout_secs = 5;
            c.llm.fast.max_tokens = 10;
            c.llm.fast.max_tokens_field = field;
        })
        .await;
        llm.push(Reply::Content(long.to_string()));
        let r =
            app.post("/v1/messages").json(&json!({"text": "write a note that the cap holds"})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let sent = llm.requests().pop().unwrap();
        assert_eq!(sent["max_tokens"].as_u64(), capped.then_some(10), "{field:?}: {sent}");
        let current = matches!(field, MaxTokensField::Both | MaxTokensField::MaxCompletionTokens);
        assert_eq!(sent["max_completion_tokens"].as_u64(), current.then_some(10), "{field:?}");
        let costs: Value = app.get("/v1/costs").send().await.unwrap().json().await.unwrap();
        let out = costs["by_day"][0]["tokens_out"].as_i64().unwrap();
        if capped {
            assert!(out <= 10, "{field:?}: the server stopped at the cap, {out} tokens");
        } else {
            assert!(out > 600, "{field:?}: this server ignores max_completion_tokens, {out} tokens");
        }
        app.stop().await;
    }
}
