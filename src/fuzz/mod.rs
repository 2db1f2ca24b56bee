//! Properties of everything steward reads from outside, checked on random
//! input with proptest: the policy's conditions, the word-search query
//! builder, `Retry-After` and header parsing, Telegram updates and Discord
//! interactions, plan JSON, cron expressions, reminders and messages read
//! as commands. Each must never panic, and
//! some must also keep a promise (a rule that lowers risk is never more
//! permissive than one that raises it; a search has at most 32 terms).
//!
//! The unit tests run each property for [`CI_CASES`] cases;
//! `steward-bench fuzz --cases N` runs them for as long as asked.

mod spoken;
mod times;

use std::collections::BTreeMap;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

use crate::adapters::{Catalog, WebhookAdapter};
use crate::domain::{DestinationArg, MAX_RETRY_AFTER, Plan, RetryPolicy, destinations, parse_retry_after};
use crate::policy::{Condition, Policy, StepFacts};

/// Cases per property in CI, and the seed they start from.
pub const CI_CASES: u32 = 10_000;
pub const CI_SEED: u64 = 0x5eed_0013;

/// One property's run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PropertyRun {
    pub property: &'static str,
    pub cases: u32,
    pub millis: u128,
    /// The minimal failing input and why, when the property failed.
    pub failure: Option<String>,
}

type Property = fn(&mut TestRunner) -> Result<(), String>;

/// Every property, by name.
pub const PROPERTIES: &[(&str, Property)] = &[
    ("policy_conditions", policy_conditions),
    ("fts_query", fts_query),
    ("retry_after", retry_after),
    ("webhook_headers", webhook_headers),
    ("telegram_updates", telegram_updates),
    ("discord_interactions", discord_interactions),
    ("plan_json", plan_json),
    ("cron", times::cron),
    ("reminders", times::reminders),
    ("messages", spoken::messages),
];

/// Runs one property for `cases` cases, from `seed` when given (the tests
/// use a fixed one, so a failure there is reproducible), else from a
/// random one.
pub fn run(property: &'static str, check: Property, cases: u32, seed: Option<u64>) -> PropertyRun {
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 2_000, ..Config::default() };
    let mut runner = match seed {
        Some(seed) => {
            let bytes: Vec<u8> = seed.to_le_bytes().iter().cycle().take(32).copied().collect();
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
        }
        None => TestRunner::new(config),
    };
    let started = Instant::now();
    let failure = check(&mut runner).err();
    PropertyRun { property, cases, millis: started.elapsed().as_millis(), failure }
}

fn outcome<T: std::fmt::Debug>(r: Result<(), proptest::test_runner::TestError<T>>) -> Result<(), String> {
    r.map_err(|e| e.to_string())
}

/// Any JSON, a few levels deep, with the values that matter to steward
/// (URLs, addresses, numbers as text) more likely than pure noise.
fn json_value() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        ".{0,24}",
        Just("http://127.0.0.1:9/x".to_owned()),
        Just("http://169.254.169.254/latest".to_owned()),
        Just("https://api.example.com/pay?x=1".to_owned()),
        Just("http://[::ffff:127.0.0.1]/".to_owned()),
        Just("Eve <eve@evil.example>".to_owned()),
        Just("a@b.c, d@e".to_owned()),
        Just("DELETE".to_owned()),
        Just("1e999".to_owned()),
        Just("NaN".to_owned()),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(Value::from),
        text.prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "url",
            "method",
            "body",
            "amount",
            "to",
            "compensate",
            "status_url",
            "headers",
            "text",
            "adapter",
            "action",
            "args",
            "within_secs",
            "steps",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{0,8}",
    ]
}

/// `template` with up to three of its values replaced by arbitrary JSON.
fn mutated(template: Value) -> impl Strategy<Value = Value> {
    let paths = leaf_paths(&template, vec![]);
    let n = paths.len().max(1);
    prop::collection::vec((0..n, json_value()), 0..4).prop_map(move |changes| {
        let mut v = template.clone();
        for (i, new) in changes {
            if let Some(path) = paths.get(i) {
                set(&mut v, path, new);
            }
        }
        v
    })
}

fn leaf_paths(v: &Value, at: Vec<String>) -> Vec<Vec<String>> {
    let mut out = vec![at.clone()];
    if let Value::Object(m) = v {
        for (k, child) in m {
            let mut p = at.clone();
            p.push(k.clone());
            out.extend(leaf_paths(child, p));
        }
    }
    out
}

fn set(v: &mut Value, path: &[String], new: Value) {
    match path.split_first() {
        None => *v = new,
        Some((k, rest)) => {
            if let Some(child) = v.get_mut(k) {
                set(child, rest, new);
            }
        }
    }
}

fn condition() -> impl Strategy<Value = Condition> {
    let arg = prop::sample::select(vec!["url", "to", "amount", "body.amount", "method", "compensate.url", "x.y"]);
    let hosts = prop::collection::vec(prop_oneof!["[a-z.]{0,12}", Just("127.0.0.1".to_owned())], 0..3);
    let classes = prop::collection::vec(
        prop::sample::select(vec!["loopback", "private", "link_local", "metadata"]).prop_map(str::to_owned),
        1..4,
    );
    let test = prop_oneof![
        any::<f64>().prop_map(|n| json!({ "gt": n })),
        any::<f64>().prop_map(|n| json!({ "lt": n })),
        json_value().prop_map(|v| json!({ "equals": v })),
        hosts.clone().prop_map(|h| json!({ "domain_not_in": h })),
        hosts.prop_map(|h| json!({ "host_not_in": h })),
        classes.prop_map(|c| json!({ "host_in_class": c })),
        any::<bool>().prop_map(|b| json!({ "exists": b })),
    ];
    (arg, test).prop_filter_map("a condition parses", |(arg, test)| {
        let mut c = test;
        c["arg"] = json!(arg);
        serde_json::from_value(c).ok()
    })
}

/// A condition never panics, and judging it for a rule that lowers risk is
/// never more permissive than for one that raises it.
fn policy_conditions(runner: &mut TestRunner) -> Result<(), String> {
    let declared = [
        DestinationArg::url("url"),
        DestinationArg::url("status_url"),
        DestinationArg::url("compensate.url"),
        DestinationArg::email("to"),
    ];
    outcome(runner.run(&(condition(), json_value()), |(c, args)| {
        let facts = StepFacts::new(args.clone(), destinations(&declared, &args));
        let (lowers, raises) = (c.holds(&facts, false), c.holds(&facts, true));
        prop_assert!(!lowers || raises, "holds when lowering risk but not when raising it: {c:?} on {args}");
        Ok(())
    }))
}

/// The words a word search uses are at most 32, distinct, non-empty and
/// alphanumeric (each is quoted into an FTS5 expression as it is, so none
/// can make it a syntax error), whatever the text.
fn fts_query(runner: &mut TestRunner) -> Result<(), String> {
    let text = prop_oneof![
        ".{0,200}",
        ("[a-z]{1,6}", 1..300usize).prop_map(|(w, n)| vec![w; n].join(" ")),
        "[\"*():^ a-zA-Z0-9-]{0,80}",
    ];
    outcome(runner.run(&text, |text| {
        let terms = crate::store::memory::query_words(&text);
        prop_assert!(terms.len() <= crate::store::memory::MAX_QUERY_TERMS, "{} terms", terms.len());
        let mut seen = std::collections::HashSet::new();
        for t in &terms {
            prop_assert!(!t.is_empty() && t.chars().all(char::is_alphanumeric), "{t}");
            prop_assert!(seen.insert(t.clone()), "repeated term {t}");
        }
        Ok(())
    }))
}

/// `Retry-After` parses to a wait no longer than the cap, or to nothing.
fn retry_after(runner: &mut TestRunner) -> Result<(), String> {
    let value = prop_oneof![
        ".{0,40}",
        any::<f64>().prop_map(|f| f.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        Just("Tue, 14 Nov 2023 22:13:30 GMT".to_owned()),
    ];
    outcome(runner.run(&(value, any::<i64>()), |(value, now)| {
        if let Some(wait) = parse_retry_after(&value, now) {
            prop_assert!(wait <= MAX_RETRY_AFTER, "{value:?} gave {wait:?}");
        }
        Ok(())
    }))
}

/// A webhook's headers, method and URLs are checked without panicking.
fn webhook_headers(runner: &mut TestRunner) -> Result<(), String> {
    let catalog =
        Catalog::default().with(std::sync::Arc::new(WebhookAdapter::new(&Default::default())), RetryPolicy::default());
    let headers = prop::collection::btree_map(".{0,12}", ".{0,24}", 0..4);
    let template = json!({"url": "https://api.example.com/x", "method": "POST", "headers": {}});
    outcome(runner.run(&(mutated(template), headers), |(mut args, headers): (Value, BTreeMap<String, String>)| {
        if args.is_object() {
            args["headers"] = json!(headers);
        }
        if let Ok(step) = crate::domain::PlannedStep::parse("webhook", "call", args) {
            let _ = catalog.validate(&step);
            let _ = Policy::builtin().judge_step(&step, &catalog.facts(&step));
        }
        Ok(())
    }))
}

/// Telegram updates, valid or not, never panic on the way in.
fn telegram_updates(runner: &mut TestRunner) -> Result<(), String> {
    let message = json!({"update_id": 7, "message": {"message_id": 1, "date": 1_700_000_000,
        "from": {"id": 42, "is_bot": false, "first_name": "Op"},
        "chat": {"id": 42, "type": "private", "first_name": "Op"}, "text": "/approve 01J"}});
    let press = json!({"update_id": 8, "callback_query": {"id": "cb1", "chat_instance": "c",
        "from": {"id": 42, "is_bot": false, "first_name": "Op"}, "data": "approve:00ff",
        "message": {"message_id": 2, "date": 1_700_000_000, "chat": {"id": 42, "type": "private"}, "text": "card"}}});
    let update = prop_oneof![mutated(message), mutated(press), json_value()];
    outcome(runner.run(&update, |raw| {
        if let Ok(update) = serde_json::from_value::<teloxide::types::Update>(raw) {
            let _ = crate::channels::telegram::said(&update);
        }
        Ok(())
    }))
}

/// Discord interactions and mention texts never panic on the way in.
fn discord_interactions(runner: &mut TestRunner) -> Result<(), String> {
    let command = json!({"id": "1", "application_id": "2", "type": 2, "token": "t", "version": 1,
        "channel_id": "3", "user": {"id": "4", "username": "op", "discriminator": "0", "avatar": null},
        "data": {"id": "5", "name": "ask", "type": 1, "options": [{"name": "text", "type": 3, "value": "hi"}]},
        "app_permissions": "0", "locale": "en-US", "entitlements": [], "authorizing_integration_owners": {}});
    let input = (prop_oneof![mutated(command), json_value()], ".{0,60}");
    outcome(runner.run(&input, |(raw, text)| {
        if let Ok(interaction) = serde_json::from_value::<serenity::all::Interaction>(raw) {
            let _ = crate::channels::discord::pressed(&interaction);
        }
        let stripped = crate::channels::discord::strip_mentions(&text);
        prop_assert!(stripped.len() <= text.len());
        Ok(())
    }))
}

/// Plan JSON is validated, judged and read back without panicking.
fn plan_json(runner: &mut TestRunner) -> Result<(), String> {
    let catalog =
        Catalog::default().with(std::sync::Arc::new(WebhookAdapter::new(&Default::default())), RetryPolicy::default());
    let step = json!({"adapter": "webhook", "action": "call", "within_secs": 60,
        "args": {"url": "https://x.example/", "compensate": {"url": "http://127.0.0.1/undo"}}});
    let plan = prop_oneof![mutated(json!([step.clone(), step])), json_value()];
    outcome(runner.run(&plan, |raw| {
        if let Ok(plan) = serde_json::from_value::<Plan>(raw) {
            for s in plan.steps() {
                let _ = catalog.validate(s);
            }
            let _ = Policy::builtin().judge(&plan, &catalog.plan_facts(&plan));
        }
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminder_phrasings_never_panic_and_never_land_in_the_past() {
        holds("reminders");
    }

    #[test]
    fn messages_are_read_without_panicking_and_courtesies_change_no_command() {
        holds("messages");
    }

    fn holds(name: &'static str) {
        let (_, check) = PROPERTIES.iter().find(|(n, _)| *n == name).unwrap();
        let o = run(name, *check, CI_CASES, Some(CI_SEED));
        assert!(o.failure.is_none(), "{name}: {}", o.failure.unwrap_or_default());
    }

    #[test]
    fn policy_conditions_never_panic_and_never_lower_risk_on_doubt() {
        holds("policy_conditions");
    }

    #[test]
    fn the_fts_query_is_bounded_whatever_the_text() {
        holds("fts_query");
    }

    #[test]
    fn retry_after_never_panics_and_is_capped() {
        holds("retry_after");
    }

    #[test]
    fn webhook_arguments_are_checked_without_panicking() {
        holds("webhook_headers");
    }

    #[test]
    fn telegram_updates_never_panic() {
        holds("telegram_updates");
    }

    #[test]
    fn discord_interactions_never_panic() {
        holds("discord_interactions");
    }

    #[test]
    fn plan_json_never_panics() {
        holds("plan_json");
    }

    #[test]
    fn cron_expressions_never_panic() {
        holds("cron");
    }
}
