//! `firebreak graph`: draw a playbook's step graph.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use super::GraphFormat;
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
    let Some(set) = super::load_named(&[which.to_string()], dir)? else {
        return Ok(ExitCode::from(crate::domain::exit::PROBLEMS));
    };
    let pb = super::find_playbook(&set, which, dir)?;
    match format {
        GraphFormat::Dot => print!("{}", render::dot(pb)),
        GraphFormat::Mermaid => print!("{}", render::mermaid(pb)),
    }
    Ok(ExitCode::SUCCESS)
}
