//! `steward init`: writes a commented `steward.toml`, never over an existing one.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

use crate::config::TEMPLATE;

pub fn run(path: &Path) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(path);
    let mut file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{} already exists; not overwriting it (edit it, or move it away and run init again)", path.display())
        }
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    };
    file.write_all(TEMPLATE.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}; edit it, then run `steward doctor`", path.display());
    Ok(())
}
