//! The `steward` command line: parses arguments and hands over to the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use steward::app::{self, Server};
use steward::config::{self, Config, Sources};
use steward::domain::{ApprovalState, Decision, IntentId, IntentState, MemoryKind, Risk, Scope};
use steward::memory::Query;
use steward::telemetry;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "steward", version, about = "A chat-first operating layer for a one-person company")]
struct Cli {
    /// Where the SQLite file, vectors and model cache live [default: ./steward-data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The config file [default: ./steward.toml if present]
    #[arg(long, global = true, value_name = "PATH", env = "STEWARD_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run steward: the HTTP API and everything behind it.
    Serve {
        /// Listen here instead of http.addr; port 0 picks a free port.
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<SocketAddr>,
    },
    /// Write a commented steward.toml (never over an existing one).
    Init,
    /// Check each part: configured, reachable, and how to fix it.
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Inspect intents.
    #[command(subcommand)]
    Intents(IntentsCommand),
    /// Inspect the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Decide what waits for the operator.
    #[command(subcommand)]
    Approvals(ApprovalsCommand),
    /// Check a risk policy file.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// What steward remembers.
    #[command(subcommand)]
    Memory(MemoryCommand),
    /// Import notes, a chat export or an mbox into memory (again: adds nothing).
    Import(app::import::Args),
    /// Scheduled digests and their next fire times.
    #[command(subcommand)]
    Schedules(SchedulesCommand),
    /// Preview or send a digest.
    #[command(subcommand)]
    Digest(DigestCommand),
    /// Saved workflows: check a file, list, show, run, see runs, pause.
    #[command(subcommand)]
    Workflows(WorkflowsCommand),
    /// The agent roles the reasoning tiers use.
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Print a one-time code that lets a chat user in: `/start CODE`.
    Pair {
        /// The channel: telegram.
        channel: String,
    },
    /// Model calls and what they cost, by day, tier and model.
    Costs {
        /// RFC 3339 (e.g. 2026-11-01T00:00:00Z); default the last 7 days.
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum SchedulesCommand {
    /// Each schedule with its next three fire times.
    List,
}

#[derive(Subcommand)]
enum DigestCommand {
    /// Print the digest a schedule would send now (changes nothing).
    Preview {
        #[arg(long)]
        schedule: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: app::digest::Format,
    },
    /// Send a schedule's digest now.
    Send {
        #[arg(long)]
        schedule: Option<String>,
    },
}

#[derive(Subcommand)]
enum AgentsCommand {
    /// Roles with their versions and contracts.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum MemoryCommand {
    /// Remember a piece of text.
    Add {
        text: String,
        #[arg(long, default_value = "note")]
        kind: MemoryKind,
        #[arg(long, default_value = "operator")]
        scope: String,
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// A JSON object kept with the record.
        #[arg(long)]
        meta: Option<String>,
        /// When what it says happened (RFC 3339, or a date), if not now.
        #[arg(long)]
        occurred_at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Search by words and meaning.
    Search {
        query: String,
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// A kind, or `message` for every kind of message.
        #[arg(long = "kind")]
        kinds: Vec<String>,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Forget a record (from SQLite, full-text search and vectors).
    Forget {
        id: Option<String>,
        /// Forget every record whose words match; shows them unless --yes.
        #[arg(long, conflicts_with = "id")]
        query: Option<String>,
        #[arg(long)]
        yes: bool,
    },
    /// Rebuild the vector index from SQLite.
    Reindex,
    /// Counts by kind, archived, waiting for vectors.
    Stats {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ApprovalsCommand {
    /// Approvals in a state, oldest first.
    List {
        #[arg(long, default_value = "pending")]
        state: ApprovalState,
        #[arg(long)]
        json: bool,
    },
    /// Approve one (for a review: confirm it).
    Approve {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reject one (for a review: undo what ran).
    Reject {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Answer a workflow's question with one of its choices (by name or number).
    Answer { id: String, choice: String },
    /// Approve every pending approval, or those of one risk level.
    ApproveAll {
        #[arg(long)]
        risk: Option<Risk>,
        #[arg(long)]
        comment: Option<String>,
    },
}

#[derive(Subcommand)]
enum WorkflowsCommand {
    /// Validate a workflow file against the adapters and the policy, and
    /// print what each trigger would do next.
    Check { file: PathBuf },
    /// The workflows in force (from `workflows.dir`).
    List {
        #[arg(long)]
        json: bool,
    },
    /// One workflow's parameters, triggers and steps.
    Show { name: String },
    /// Start a run; prints the new intent's id.
    Run {
        name: String,
        /// A parameter, `key=value`; repeat for more.
        #[arg(long = "arg", value_name = "KEY=VALUE")]
        args: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// A workflow's latest runs.
    Runs {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Stop its scheduled triggers until resumed.
    Pause { name: String },
    /// Start its scheduled triggers again (missed periods do not run).
    Resume { name: String },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file and print what each rule matches.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
enum IntentsCommand {
    /// The newest intents.
    List {
        #[arg(long)]
        state: Option<IntentState>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One intent, its steps and its timeline.
    Show {
        id: IntentId,
        #[arg(long)]
        json: bool,
        /// A log file `serve` wrote with `log.format = "json"`: its lines
        /// about this intent are printed too.
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// Cancel an intent; a running one undoes what already ran.
    Cancel { id: IntentId },
    /// Retry a failed intent or one that needs attention, with the same keys.
    Retry { id: IntentId },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and report the first broken link; check it
    /// reaches its anchors and accounts for every intent's state.
    Verify {
        #[arg(long)]
        json: bool,
        /// A head the chain must hold, `SEQ:HASH` (every digest prints one).
        #[arg(long, value_name = "SEQ:HASH")]
        anchor: Vec<String>,
    },
}

fn main() -> ExitCode {
    app::exit::quiet_on_closed_pipe();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return app::exit::fail(anyhow::Error::from(e)),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => app::exit::fail(e),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // `init` must work where the configuration does not load yet.
    let init_path = cli.config.clone().unwrap_or_else(|| PathBuf::from(config::DEFAULT_FILE));
    if let Command::Init = cli.command {
        return init(&init_path);
    }
    let config = Config::load(&Sources { file: cli.config, data_dir: cli.data_dir })?;
    let quiet = !matches!(cli.command, Command::Serve { .. });
    telemetry::init(&config.log, quiet.then_some("warn"));
    match cli.command {
        Command::Init => init(&init_path),
        Command::Serve { addr } => serve(&config, addr).await,
        Command::Doctor { json } => app::doctor::run(&config, json).await,
        Command::Intents(IntentsCommand::List { state, limit, json }) => {
            app::intents::list(&config, state, limit, json).await
        }
        Command::Intents(IntentsCommand::Show { id, json, log }) => {
            app::intents::show(&config, id, json, log.as_deref()).await
        }
        Command::Intents(IntentsCommand::Cancel { id }) => app::intents::cancel(&config, id).await,
        Command::Intents(IntentsCommand::Retry { id }) => app::intents::retry(&config, id).await,
        Command::Audit(AuditCommand::Verify { json, anchor }) => app::audit::verify(&config, json, &anchor).await,
        Command::Approvals(ApprovalsCommand::List { state, json }) => app::approvals::list(&config, state, json).await,
        Command::Approvals(ApprovalsCommand::Approve { id, comment }) => {
            app::approvals::decide(&config, &id, Decision::Approve, comment.as_deref()).await
        }
        Command::Approvals(ApprovalsCommand::Reject { id, comment }) => {
            app::approvals::decide(&config, &id, Decision::Reject, comment.as_deref()).await
        }
        Command::Approvals(ApprovalsCommand::Answer { id, choice }) => {
            app::approvals::answer(&config, &id, &choice).await
        }
        Command::Approvals(ApprovalsCommand::ApproveAll { risk, comment }) => {
            app::approvals::approve_all(&config, risk, comment.as_deref()).await
        }
        Command::Policy(PolicyCommand::Check { file }) => app::policy::check(&file),
        Command::Workflows(cmd) => workflows(&config, cmd).await,
        Command::Memory(cmd) => memory(&config, cmd).await,
        Command::Import(args) => app::import::command(&config, args).await,
        Command::Schedules(SchedulesCommand::List) => app::digest::list(&config).await,
        Command::Digest(DigestCommand::Preview { schedule, format }) => {
            app::digest::preview(&config, schedule.as_deref(), format).await
        }
        Command::Digest(DigestCommand::Send { schedule }) => app::digest::send(&config, schedule.as_deref()).await,
        Command::Agents(AgentsCommand::List { json }) => app::reasoning::agents(&config, json),
        Command::Costs { since, json } => app::reasoning::costs(&config, since, json).await,
        Command::Pair { channel } => app::pair::pair(&config, &channel).await,
    }
}

fn init(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    app::init::run(path)?;
    Ok(ExitCode::SUCCESS)
}

async fn workflows(config: &Config, cmd: WorkflowsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        WorkflowsCommand::Check { file } => app::workflows::check(config, &file).await,
        WorkflowsCommand::List { json } => app::workflows::list(config, json).await,
        WorkflowsCommand::Show { name } => app::workflows::show(config, &name).await,
        WorkflowsCommand::Run { name, args, json } => app::workflows::run(config, &name, &args, json).await,
        WorkflowsCommand::Runs { name, json } => app::workflows::list_runs(config, &name, json).await,
        WorkflowsCommand::Pause { name } => app::workflows::pause(config, &name, true).await,
        WorkflowsCommand::Resume { name } => app::workflows::pause(config, &name, false).await,
    }
}

async fn memory(config: &Config, cmd: MemoryCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        MemoryCommand::Add { text, kind, scope, tags, meta, occurred_at, json } => {
            let extra = app::memory::Extra { tags, meta, occurred_at };
            app::memory::add(config, &text, kind, &scope, extra, json).await
        }
        MemoryCommand::Search { query, scopes, kinds, limit, json } => {
            let scopes = scopes.iter().map(|s| Scope::parse(s)).collect::<Result<_, _>>()?;
            let mut named = Vec::new();
            for k in &kinds {
                named.extend(MemoryKind::named(k)?);
            }
            let query = Query { text: query, scopes, kinds: named, limit, ..Default::default() };
            app::memory::search(config, query, json).await
        }
        MemoryCommand::Forget { id, query, yes } => {
            app::memory::forget(config, id.as_deref(), query.as_deref(), yes).await
        }
        MemoryCommand::Reindex => app::memory::reindex(config).await,
        MemoryCommand::Stats { json } => app::memory::stats(config, json).await,
    }
}

async fn serve(config: &Config, addr: Option<SocketAddr>) -> anyhow::Result<ExitCode> {
    let server = Server::build(config, addr).await?;
    println!("listening on http://{}", server.local_addr());
    let shutdown = CancellationToken::new();
    app::shutdown::on_signals(shutdown.clone());
    server.run(shutdown).await?;
    Ok(ExitCode::SUCCESS)
}
