//! The workflows in `workflows.dir`: each file loads, or is named with why.

use super::{Check, Status, check};
use crate::config::Config;

pub async fn workflows(config: &Config) -> Check {
    let dir = &config.workflows.dir;
    let Ok(store) = crate::store::Store::in_memory().await else {
        return check("workflows", Status::Warn, "cannot check them (no scratch store)", None);
    };
    let catalog = match crate::app::catalog(config, &store) {
        Ok(c) => c,
        Err(e) => return check("workflows", Status::Warn, format!("cannot check them: {e}"), None),
    };
    let lib = match crate::app::workflows::load_library(config, catalog) {
        Ok((lib, _)) => lib,
        Err(e) => {
            return check("workflows", Status::Error, e.to_string(), Some("fix [[schedules]] or workflows.timezone"));
        }
    };
    let refused = lib.refused();
    if let Some((path, why)) = refused.first() {
        let more = if refused.len() > 1 { format!(" (and {} more)", refused.len() - 1) } else { String::new() };
        let detail = format!("{} refused: {why}{more}", path.display());
        return check("workflows", Status::Error, detail, Some("steward workflows check FILE shows each problem"));
    }
    let all = lib.all();
    if all.is_empty() {
        let detail = format!("none in {}", dir.display());
        return check("workflows", Status::Off, detail, Some("put workflow files (TOML) in workflows.dir"));
    }
    let names: Vec<String> = all.iter().map(|w| w.name.clone()).collect();
    check("workflows", Status::Ok, names.join(", "), None)
}
