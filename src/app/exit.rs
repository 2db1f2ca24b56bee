//! How the command line ends: one clear line and exit code 2 on an error,
//! and quietly, with 0, when whoever read its output went away.

use std::process::ExitCode;

/// One clear line on stderr, exit code 2, never a backtrace. A reader that
/// went away (`steward … | head`) is not a failure: the output just ends.
pub fn fail(e: anyhow::Error) -> ExitCode {
    let closed = e
        .chain()
        .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe));
    if closed {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {e:#}");
    ExitCode::from(2)
}

/// `println!` panics when its reader has gone away (`steward … | head`);
/// that ends the output quietly with exit code 0. Every other panic is
/// reported as before.
pub fn quiet_on_closed_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let said =
            payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied());
        if said.is_some_and(|m| m.starts_with("failed printing to stdout") && m.contains("Broken pipe")) {
            std::process::exit(0);
        }
        report(info);
    }));
}
