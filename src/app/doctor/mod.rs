//! `steward doctor`: for each part, whether it is configured and reachable,
//! with a one-line fix. Only real errors (something configured that does not
//! work) make it exit non-zero; a part that is simply off is reported as such.

mod channels;
mod memory;
mod workflows;

use std::process::ExitCode;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Serialize;

use super::{api_token_path, print_json};
use crate::config::{Config, EmbeddingBackend, TierConfig};
use crate::memory::embed::{find_minilm, model_hint};
use crate::policy::Policy;
use crate::store::{Store, breaker};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Off,
    Warn,
    Error,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub part: &'static str,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(part: &'static str, status: Status, detail: impl Into<String>, fix: Option<&str>) -> Check {
    Check { part, status, detail: detail.into(), fix: fix.map(str::to_owned) }
}

pub async fn run(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let checks = vec![
        store(config).await,
        policy(config).await,
        api(config),
        files(config),
        channels::telegram(config, &http).await,
        channels::discord(config, &http).await,
        llm("llm.fast", &config.llm.fast, &config.llm.prices, &http).await,
        llm("llm.deep", &config.llm.deep, &config.llm.prices, &http).await,
        roles(config),
        email(config).await,
        schedules(config),
        workflows::workflows(config).await,
        embedding(config),
        memory::qdrant(config).await,
    ];
    if json {
        print_json(&checks)?;
    } else {
        for c in &checks {
            let tag = match c.status {
                Status::Ok => "ok   ",
                Status::Off => "off  ",
                Status::Warn => "warn ",
                Status::Error => "ERROR",
            };
            println!("{tag} {:<9} {}", c.part, c.detail);
            if let Some(fix) = &c.fix {
                println!("      {:<9} fix: {fix}", "");
            }
        }
    }
    let failed = checks.iter().any(|c| c.status == Status::Error);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

async fn store(config: &Config) -> Check {
    let path = config.database_path();
    if !path.exists() {
        let detail = format!("no database yet; `steward serve` creates {}", path.display());
        return check("store", Status::Ok, detail, None);
    }
    match Store::open(&path, &config.store).await {
        Ok(store) => {
            let ok: Result<(String,), _> = sqlx::query_as("PRAGMA quick_check").fetch_one(store.reader()).await;
            store.close().await;
            match ok {
                Ok((s,)) if s == "ok" => {
                    let detail = format!("{} (WAL, durability {})", path.display(), config.store.durability.as_str());
                    check("store", Status::Ok, detail, None)
                }
                other => check(
                    "store",
                    Status::Error,
                    format!("integrity check failed: {other:?}"),
                    Some("restore the database from a backup"),
                ),
            }
        }
        Err(e) => check(
            "store",
            Status::Error,
            format!("cannot open {}: {e}", path.display()),
            Some("check --data-dir and file permissions"),
        ),
    }
}

/// The policy in force, and whether the breaker holds steward in assisted mode.
async fn policy(config: &Config) -> Check {
    let loaded = match &config.policy.path {
        None => Ok(Policy::builtin()),
        Some(path) => crate::policy::read(path, &crate::adapters::policy_vocabulary())
            .map_err(|e| format!("{} refused: {e}", path.display())),
    };
    let p = match loaded {
        Ok(p) => p,
        Err(why) => {
            return check(
                "policy",
                Status::Error,
                why,
                Some("fix the file; `steward policy check FILE` shows what each rule matches"),
            );
        }
    };
    let source = config.policy.path.as_ref().map_or("built-in".to_owned(), |p| p.display().to_string());
    let db = config.database_path();
    if db.exists() {
        if let Ok(store) = Store::open(&db, &config.store).await {
            let cooldown = (p.breaker.cooldown_secs * 1000) as i64;
            let open = breaker::open_now(store.reader(), cooldown, store.now()).await.ok().flatten();
            store.close().await;
            if let Some(why) = open {
                let detail = format!("assisted mode: circuit breaker open ({why}); everything waits for approval");
                return check(
                    "policy",
                    Status::Warn,
                    detail,
                    Some("look at the failing intents; the breaker closes after its cool-down"),
                );
            }
        }
    }
    check("policy", Status::Ok, format!("{source}, version {}", p.version), None)
}

fn api(config: &Config) -> Check {
    let addr = config.http.addr;
    match (&config.http.token, addr.ip().is_loopback()) {
        (Some(_), _) => check("http", Status::Ok, format!("{addr}, bearer token configured"), None),
        (None, true) => {
            let detail = format!(
                "{addr}, no token configured: serve generates one in {}",
                api_token_path(&config.data_dir).display()
            );
            check("http", Status::Ok, detail, None)
        }
        (None, false) => check(
            "http",
            Status::Error,
            format!("{addr} is not loopback and no API token is configured; serve will refuse to start"),
            Some("set STEWARD_API_TOKEN or http.token_file"),
        ),
    }
}

/// The data directory and the files holding memory, plans and secrets must
/// be readable by steward's user only.
fn files(config: &Config) -> Check {
    let dir = &config.data_dir;
    let candidates = [
        dir.clone(),
        config.database_path(),
        dir.join("steward.db-wal"),
        dir.join("steward.db-shm"),
        api_token_path(dir),
        dir.join(crate::store::anchor::FILE),
    ];
    let open: Vec<String> = candidates
        .iter()
        .filter_map(|p| crate::store::files::too_open(p).map(|mode| format!("{} ({mode:o})", p.display())))
        .collect();
    if open.is_empty() {
        return check("files", Status::Ok, format!("{} and its files are private", dir.display()), None);
    }
    check(
        "files",
        Status::Warn,
        format!("readable by others: {}", open.join(", ")),
        Some(&format!("chmod -R go-rwx {}", dir.display())),
    )
}

/// Describes a failed request without its URL, which may embed a token.
fn describe(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

/// The SMTP server answers (and accepts the login, when one is set).
async fn email(config: &Config) -> Check {
    let transport = match crate::adapters::email::transport(&config.email) {
        Ok(None) => {
            return check(
                "email",
                Status::Off,
                "not configured: no email adapter",
                Some("set email.host and email.from"),
            );
        }
        Ok(Some((t, _))) => t,
        Err(e) => return check("email", Status::Error, e, Some("fix the [email] section")),
    };
    let host = format!("{}:{}", config.email.host.as_deref().unwrap_or_default(), config.email.port);
    match tokio::time::timeout(Duration::from_secs(10), transport.test_connection()).await {
        Ok(Ok(true)) => check("email", Status::Ok, format!("{host} answers"), None),
        Ok(Ok(false)) => check("email", Status::Error, format!("{host} did not accept a session"), None),
        Ok(Err(e)) => check(
            "email",
            Status::Error,
            format!("{host}: {e}"),
            Some("check email.host, port, security and the login"),
        ),
        Err(_) => check(
            "email",
            Status::Error,
            format!("{host} did not answer within 10 s"),
            Some("check email.host and port"),
        ),
    }
}

/// The schedules parse (cron, time zone, destination).
fn schedules(config: &Config) -> Check {
    match crate::schedules::parse(&config.schedules, &crate::schedules::Available::from_config(config)) {
        Ok(s) if s.is_empty() => {
            check("schedules", Status::Off, "none: no digests are sent", Some("add [[schedules]] to steward.toml"))
        }
        Ok(s) => check("schedules", Status::Ok, s.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "), None),
        Err(e) => check("schedules", Status::Error, e, Some("fix the [[schedules]] entry")),
    }
}

/// The agent roles load (built in, or from `reasoning.prompts_dir`).
fn roles(config: &Config) -> Check {
    match crate::reasoning::load_roles(&config.reasoning) {
        Ok(roles) => {
            let names: Vec<String> = roles.all().map(|r| format!("{} {}", r.name, r.version)).collect();
            check("roles", Status::Ok, names.join(", "), None)
        }
        Err(e) => {
            check("roles", Status::Error, e.to_string(), Some("fix the role file, or unset reasoning.prompts_dir"))
        }
    }
}

async fn llm(
    part: &'static str,
    tier: &TierConfig,
    prices: &std::collections::BTreeMap<String, crate::config::Price>,
    http: &reqwest::Client,
) -> Check {
    let (Some(base), Some(model)) = (&tier.base_url, &tier.model) else {
        let fix = format!("set {part}.base_url and {part}.model (any OpenAI-compatible server)");
        return check(part, Status::Off, "not configured: requests needing it wait for the operator", Some(&fix));
    };
    let mut request = http.get(format!("{}/models", base.trim_end_matches('/')));
    if let Some(key) = &tier.api_key {
        request = request.bearer_auth(key.expose_secret());
    }
    match request.send().await {
        Ok(r) if r.status().is_success() && !prices.contains_key(model) => check(
            part,
            Status::Warn,
            format!(
                "{model} at {base}, but it has no price: its calls are recorded at $0 and the daily budget cannot stop them"
            ),
            Some(&format!("add [llm.prices.\"{model}\"] with input_per_mtok and output_per_mtok")),
        ),
        Ok(r) if r.status().is_success() => check(part, Status::Ok, format!("{model} at {base}"), None),
        Ok(r) if r.status().as_u16() == 401 => {
            check(part, Status::Error, format!("{base} rejected the API key"), Some("check the api_key"))
        }
        Ok(r) => check(
            part,
            Status::Warn,
            format!("{base}/models answered {}; the server may still serve {model}", r.status()),
            None,
        ),
        Err(e) => check(
            part,
            Status::Error,
            format!("cannot reach {base}: {}", describe(e)),
            Some("check base_url and that the server runs"),
        ),
    }
}

fn embedding(config: &Config) -> Check {
    let hint = model_hint();
    match config.embedding.backend {
        EmbeddingBackend::Hash => check(
            "embedding",
            Status::Warn,
            "hash embedder: search is lexical only",
            Some("use backend = \"minilm\" for semantic search"),
        ),
        EmbeddingBackend::Openai => match (&config.embedding.base_url, &config.embedding.model) {
            (Some(base), Some(model)) => check("embedding", Status::Ok, format!("{model} at {base}"), None),
            _ => check(
                "embedding",
                Status::Error,
                "backend openai without base_url and model",
                Some("set embedding.base_url and embedding.model"),
            ),
        },
        EmbeddingBackend::Minilm => {
            match (find_minilm(config.embedding.model_dir.as_deref(), &config.data_dir), &config.embedding.model_dir) {
                (Some(dir), _) => {
                    check("embedding", Status::Ok, format!("all-MiniLM-L6-v2 in {}", dir.display()), None)
                }
                (None, Some(dir)) => {
                    check("embedding", Status::Error, format!("{} does not hold the model", dir.display()), Some(hint))
                }
                (None, None) => check(
                    "embedding",
                    Status::Warn,
                    "all-MiniLM-L6-v2 not found; search falls back to lexical",
                    Some(hint),
                ),
            }
        }
    }
}
