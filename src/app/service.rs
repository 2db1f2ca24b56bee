//! `steward service install|uninstall`: runs `steward serve` as a service
//! of the current user, with this binary, config file and data directory
//! (all as absolute paths). On Linux a systemd user unit, on macOS a
//! launchd agent. It writes the file and says how to start it; it never
//! starts or stops anything itself.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};

use crate::config::Config;

/// The name of the unit (systemd) or the label (launchd).
const SYSTEMD_UNIT: &str = "steward.service";
const LAUNCHD_LABEL: &str = "dev.steward.serve";

enum Manager {
    Systemd,
    Launchd,
}

impl Manager {
    fn here() -> Self {
        if cfg!(target_os = "macos") { Self::Launchd } else { Self::Systemd }
    }

    /// Where the unit goes: the user's systemd or LaunchAgents directory.
    fn path(&self) -> anyhow::Result<PathBuf> {
        let home = || std::env::var_os("HOME").map(PathBuf::from).ok_or_else(|| anyhow!("HOME is not set"));
        Ok(match self {
            Self::Systemd => {
                let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
                    Some(dir) => PathBuf::from(dir),
                    None => home()?.join(".config"),
                };
                config.join("systemd/user").join(SYSTEMD_UNIT)
            }
            Self::Launchd => home()?.join("Library/LaunchAgents").join(format!("{LAUNCHD_LABEL}.plist")),
        })
    }
}

/// What the service runs: `steward [--config FILE] --data-dir DIR serve`.
struct Invocation {
    program: PathBuf,
    args: Vec<String>,
    workdir: PathBuf,
    data_dir: PathBuf,
}

impl Invocation {
    fn new(config: &Config, config_file: Option<&Path>) -> anyhow::Result<Self> {
        let program = std::env::current_exe().context("cannot tell where this steward binary is")?;
        let data_dir = std::path::absolute(&config.data_dir)?;
        let mut args = Vec::new();
        let workdir = match config_file {
            Some(file) => {
                let file = std::fs::canonicalize(file).with_context(|| format!("cannot find {}", file.display()))?;
                args.extend(["--config".to_owned(), file.display().to_string()]);
                file.parent().map_or_else(|| data_dir.clone(), Path::to_path_buf)
            }
            None => std::env::current_dir()?,
        };
        args.extend(["--data-dir".to_owned(), data_dir.display().to_string(), "serve".to_owned()]);
        Ok(Self { program, args, workdir, data_dir })
    }
}

/// One word of a systemd command line: quoted, with `\`, `"` and the
/// specifier `%` escaped.
fn systemd_word(word: &str) -> String {
    let escaped = word.replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%");
    format!("\"{escaped}\"")
}

fn systemd_unit(run: &Invocation) -> String {
    let mut exec = vec![systemd_word(&run.program.display().to_string())];
    exec.extend(run.args.iter().map(|a| systemd_word(a)));
    format!(
        "# Written by `steward service install`; `steward service uninstall` removes it.\n\
         [Unit]\n\
         Description=steward: a chat-first operating layer for a one-person company\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         Type=exec\n\
         ExecStart={}\n\
         WorkingDirectory={}\n\
         # Secrets as STEWARD_* variables, one per line, if you keep them there.\n\
         EnvironmentFile=-{}\n\
         # steward drains in-flight work on SIGTERM; a second signal ends it at once.\n\
         KillSignal=SIGTERM\n\
         TimeoutStopSec=90\n\
         Restart=on-failure\n\
         RestartSec=5\n\
         UMask=0077\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        exec.join(" "),
        // These two take the rest of the line as the path: no quotes.
        run.workdir.display().to_string().replace('%', "%%"),
        run.data_dir.join("environment").display().to_string().replace('%', "%%"),
    )
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn launchd_plist(run: &Invocation) -> String {
    let mut args = vec![run.program.display().to_string()];
    args.extend(run.args.iter().cloned());
    let args: String = args.iter().map(|a| format!("        <string>{}</string>\n", xml(a))).collect();
    let log = xml(&run.data_dir.join("steward.log").display().to_string());
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n\
         <dict>\n\
         \x20   <key>Label</key>\n    <string>{LAUNCHD_LABEL}</string>\n\
         \x20   <key>ProgramArguments</key>\n    <array>\n{args}    </array>\n\
         \x20   <key>WorkingDirectory</key>\n    <string>{}</string>\n\
         \x20   <key>RunAtLoad</key>\n    <true/>\n\
         \x20   <key>KeepAlive</key>\n    <dict><key>SuccessfulExit</key><false/></dict>\n\
         \x20   <key>Umask</key>\n    <integer>63</integer>\n\
         \x20   <key>StandardOutPath</key>\n    <string>{log}</string>\n\
         \x20   <key>StandardErrorPath</key>\n    <string>{log}</string>\n\
         </dict>\n\
         </plist>\n",
        xml(&run.workdir.display().to_string()),
    )
}

pub fn install(config: &Config, config_file: Option<&Path>, force: bool) -> anyhow::Result<ExitCode> {
    let manager = Manager::here();
    let path = manager.path()?;
    if path.exists() && !force {
        bail!("{} exists already: `steward service uninstall` first, or pass --force to replace it", path.display());
    }
    let run = Invocation::new(config, config_file)?;
    let text = match manager {
        Manager::Systemd => systemd_unit(&run),
        Manager::Launchd => launchd_plist(&run),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    match manager {
        Manager::Systemd => {
            println!(
                "start it now and at every login:  systemctl --user daemon-reload && systemctl --user enable --now steward"
            );
            println!("keep it running after you log out: loginctl enable-linger \"$USER\"");
            println!("its log:                           journalctl --user -u steward -f");
        }
        Manager::Launchd => {
            println!("start it now and at every login:  launchctl bootstrap gui/$(id -u) {}", path.display());
            println!("its log:                           {}", run.data_dir.join("steward.log").display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn uninstall() -> anyhow::Result<ExitCode> {
    let manager = Manager::here();
    let path = manager.path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => {
            println!("removed {}", path.display());
            match manager {
                Manager::Systemd => println!(
                    "if it was running: systemctl --user disable --now steward && systemctl --user daemon-reload"
                ),
                Manager::Launchd => println!("if it was running: launchctl bootout gui/$(id -u)/{LAUNCHD_LABEL}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("no service is installed ({} does not exist)", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(anyhow!("cannot remove {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Invocation {
        Invocation {
            program: "/opt/my tools/steward".into(),
            args: vec!["--config".into(), "/srv/100% \"ready\"/steward.toml".into(), "serve".into()],
            workdir: "/srv/a&b".into(),
            data_dir: "/srv/a&b/data".into(),
        }
    }

    #[test]
    fn a_unit_quotes_and_escapes_every_path() {
        let unit = systemd_unit(&run());
        assert!(
            unit.contains(
                r#"ExecStart="/opt/my tools/steward" "--config" "/srv/100%% \"ready\"/steward.toml" "serve""#
            ),
            "{unit}"
        );
        assert!(unit.contains("WorkingDirectory=/srv/a&b\n"), "{unit}");
        let plist = launchd_plist(&run());
        assert!(plist.contains("<string>/srv/100% &quot;ready&quot;/steward.toml</string>"), "{plist}");
        assert!(plist.contains("<string>/srv/a&amp;b</string>"), "{plist}");
    }
}
