//! The command line's shape: every command, its arguments and its help,
//! which `main` dispatches and from which the completions and the manual
//! page are generated.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use steward::app;
use steward::domain::{ApprovalState, IntentId, IntentState, MemoryKind, Risk};

use crate::since;

#[derive(Parser)]
#[command(name = "steward", version, about = "A chat-first operating layer for a one-person company")]
pub(crate) struct Cli {
    /// Where the SQLite file, vectors and model cache live [default: ./steward-data]
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// The config file [default: ./steward.toml if present]
    #[arg(long, global = true, value_name = "PATH", env = "STEWARD_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run steward: the HTTP API and everything behind it.
    Serve {
        /// Listen here instead of http.addr; port 0 picks a free port.
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<SocketAddr>,
    },
    /// Ask or tell steward something, as in a chat: the answer with its
    /// sources. Goes through the running server when there is one.
    Ask {
        /// What to say (the words are joined with spaces).
        #[arg(required_unless_present = "press", conflicts_with = "press")]
        words: Vec<String>,
        /// Press a button an earlier answer offered (`m:TOKEN`).
        #[arg(long, value_name = "DATA")]
        press: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Copy the database (an online, consistent snapshot), the audit anchor
    /// and the config into DIR, which must be new or empty.
    Backup { dir: PathBuf },
    /// Restore a backup into the data directory, which must not be in use
    /// and must hold no database unless --force (it is moved aside, never
    /// deleted). Vectors are rebuilt from the records when serve starts.
    Restore {
        dir: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// The local embedding model (all-MiniLM-L6-v2).
    #[command(subcommand)]
    Model(ModelCommand),
    /// Run steward as a service of this user (systemd or launchd).
    #[command(subcommand)]
    Service(ServiceCommand),
    /// The set-up wizard: Telegram (token checked, your user id from your
    /// /start), optionally Discord, a model endpoint and SMTP; writes the
    /// config with secrets in files of their own, then runs doctor.
    Setup(app::setup::Answers),
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
        /// A time (RFC 3339), a date (2026-11-01, UTC) or how long ago
        /// (7d, 12h, 2w, 90m); default the last 7 days.
        #[arg(long, value_parser = since::parse, value_name = "WHEN")]
        since: Option<since::Since>,
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script: `steward completions bash > …`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `steward man > steward.1`.
    Man,
}

#[derive(Subcommand)]
pub(crate) enum ModelCommand {
    /// Download it from the Hugging Face hub into the data directory, with
    /// a progress bar, and check each file against the hub's checksum.
    Fetch {
        /// A hub mirror [default: HF_ENDPOINT, else https://huggingface.co]
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// A branch, tag or commit of the model's repository.
        #[arg(long, default_value = "main")]
        revision: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum ServiceCommand {
    /// Write a systemd user unit (Linux) or a launchd agent (macOS) that
    /// runs `steward serve` with this config and data directory, and print
    /// how to start it.
    Install {
        /// Replace a unit written before.
        #[arg(long)]
        force: bool,
    },
    /// Remove the unit `install` wrote (stop the service first).
    Uninstall,
}

#[derive(Subcommand)]
pub(crate) enum SchedulesCommand {
    /// Each schedule with its next three fire times.
    List,
}

#[derive(Subcommand)]
pub(crate) enum DigestCommand {
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
pub(crate) enum AgentsCommand {
    /// Roles with their versions and contracts.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum MemoryCommand {
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
pub(crate) enum ApprovalsCommand {
    /// Approvals in a state, oldest first.
    List {
        #[arg(long, default_value = "pending")]
        state: ApprovalState,
        #[arg(long)]
        json: bool,
    },
    /// Approve one, by its id or its intent's (for a review: confirm it).
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
        /// Which risk to approve: low unless given; above low, what would
        /// be approved is shown and confirmed first.
        #[arg(long)]
        risk: Option<Risk>,
        #[arg(long)]
        comment: Option<String>,
        /// Confirm approving above low risk without asking (for scripts).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum WorkflowsCommand {
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
pub(crate) enum PolicyCommand {
    /// Validate a policy file and print what each rule matches.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
pub(crate) enum IntentsCommand {
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
pub(crate) enum AuditCommand {
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
