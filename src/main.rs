//! The `steward` command line: parses arguments and hands over to the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use steward::app::{self, Server};
use steward::config::{self, Config, Sources};
use steward::domain::{Decision, MemoryKind, Scope};
use steward::memory::Query;
use steward::telemetry;
use tokio_util::sync::CancellationToken;

mod cli;
mod since;

use cli::*;

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
    match cli.command {
        Command::Init => return init(&init_path),
        // Written whole, so a reader that goes away (`| head`) ends it
        // quietly (`app::exit::fail`) instead of a panic in the generator.
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "steward", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Setup(answers) => {
            let path = app::setup::config_path(cli.config.as_deref());
            let sources = Sources { file: Some(path.clone()).filter(|p| p.exists()), data_dir: cli.data_dir };
            let config = Config::load(&sources)?;
            telemetry::init(&config.log, Some("warn"));
            return app::setup::run(&config, &path, answers).await;
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            std::io::Write::write_all(&mut std::io::stdout(), &page)?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let config_file = cli.config.clone().or_else(|| Some(PathBuf::from(config::DEFAULT_FILE)).filter(|p| p.exists()));
    let config = Config::load(&Sources { file: cli.config, data_dir: cli.data_dir })?;
    let quiet = !matches!(cli.command, Command::Serve { .. });
    telemetry::init(&config.log, quiet.then_some("warn"));
    match cli.command {
        // Done above, before the configuration is loaded.
        Command::Init | Command::Completions { .. } | Command::Man | Command::Setup(_) => Ok(ExitCode::SUCCESS),
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
        Command::Approvals(ApprovalsCommand::ApproveAll { risk, comment, yes }) => {
            app::approvals::approve_all(&config, risk, comment.as_deref(), yes).await
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
        Command::Costs { since, json } => {
            app::reasoning::costs(&config, since.map(|s| s.resolve(chrono::Utc::now())), json).await
        }
        Command::Pair { channel } => app::pair::pair(&config, &channel).await,
        Command::Ask { words, press, json } => {
            let said = match press {
                Some(data) => app::ask::Said::Press(data),
                None => app::ask::Said::Text(words.join(" ")),
            };
            app::ask::run(&config, said, json).await
        }
        Command::Backup { dir } => app::backup::backup(&config, config_file.as_deref(), &dir).await,
        Command::Restore { dir, force } => app::backup::restore(&config, &dir, force).await,
        Command::Service(ServiceCommand::Install { force }) => {
            app::service::install(&config, config_file.as_deref(), force)
        }
        Command::Service(ServiceCommand::Uninstall) => app::service::uninstall(),
        Command::Model(ModelCommand::Fetch { endpoint, revision }) => {
            app::model::fetch(&config, endpoint, &revision).await
        }
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
