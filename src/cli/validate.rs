//! `firebreak validate`: check playbooks: every problem at once, with file:line:column, a code and
//! a hint.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::json;

use super::Output;
use crate::domain::playbook;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Playbook files or folders (default: playbooks/).
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

pub fn run(a: Args) -> Result<ExitCode> {
    validate(a.paths, a.output)
}

fn validate(mut paths: Vec<PathBuf>, output: Output) -> Result<ExitCode> {
    if paths.is_empty() {
        paths.push(PathBuf::from("playbooks"));
    }
    for p in &paths {
        if !p.exists() {
            bail!(
                "{}: no such file or folder\n  hint: pass playbook files or folders, e.g. `firebreak validate playbooks/`",
                p.display()
            );
        }
    }
    let set = playbook::load_dir(&paths);
    let errors = set.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = set.diagnostics.len() - errors;
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "files": set.files,
                "playbooks": set.playbooks.iter().map(|p| &p.name).collect::<Vec<_>>(),
                "errors": errors,
                "warnings": warnings,
                "diagnostics": set.diagnostics,
            }))?
        ),
        Output::Text => {
            for d in &set.diagnostics {
                println!("{d}");
            }
            println!(
                "{} file(s), {} playbook(s) loaded, {errors} error(s), {warnings} warning(s)",
                set.files.len(),
                set.playbooks.len()
            );
        }
    }
    Ok(if errors > 0 {
        ExitCode::from(crate::domain::exit::PROBLEMS)
    } else {
        ExitCode::SUCCESS
    })
}
