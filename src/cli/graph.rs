//! `firebreak graph`: draw a playbook's step graph.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{GraphFormat, load_playbooks};
use crate::domain::playbook;
use crate::domain::render;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A playbook file, or the name of a playbook in --playbooks.
    pub playbook: String,
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
    #[arg(long, default_value = "playbooks")]
    pub playbooks: PathBuf,
}

pub fn run(a: Args) -> Result<ExitCode> {
    graph(&a.playbook, a.format, &a.playbooks)
}

fn graph(which: &str, format: GraphFormat, dir: &Path) -> Result<ExitCode> {
    let path = Path::new(which);
    let set = if path.is_file() {
        playbook::load_dir(&[path])
    } else {
        load_playbooks(dir)?
    };
    if set.has_errors() {
        for d in &set.diagnostics {
            crate::say!("{d}");
        }
        return Ok(ExitCode::from(crate::domain::exit::PROBLEMS));
    }
    let pb = set
        .playbooks
        .iter()
        .find(|p| path.is_file() || p.name == which)
        .with_context(|| format!("no playbook file or name `{which}`\n  hint: pass a playbook file, or a name from {}", dir.display()))?;
    match format {
        GraphFormat::Dot => print!("{}", render::dot(pb)),
        GraphFormat::Mermaid => print!("{}", render::mermaid(pb)),
    }
    Ok(ExitCode::SUCCESS)
}
