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
    /// Check this configuration file too (default: `FIREBREAK_CONFIG`, else `firebreak.yaml`
    /// here if there is one).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    validate(a.paths, a.output, a.config)
}

fn validate(mut paths: Vec<PathBuf>, output: Output, config: Option<PathBuf>) -> Result<ExitCode> {
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
    let mut set = playbook::load_dir(&paths);
    // The configuration file, with the same diagnostics.
    let config_file = crate::tickets::config_path(config.as_deref());
    if let Some(file) = &config_file {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|e| {
            anyhow::anyhow!("{name}: {e}\n  hint: --config (or FIREBREAK_CONFIG) names firebreak's configuration file")
        })?;
        set.diagnostics
            .extend(crate::domain::config::check(&text, &name).1);
    }
    let errors = set.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = set.diagnostics.len() - errors;
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "files": set.files,
                "playbooks": set.playbooks.iter().map(|p| &p.name).collect::<Vec<_>>(),
                "config": config_file.as_ref().map(|f| f.display().to_string()),
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
                "{} file(s), {} playbook(s) loaded{}, {errors} error(s), {warnings} warning(s)",
                set.files.len(),
                set.playbooks.len(),
                config_file
                    .as_ref()
                    .map(|f| format!(", configuration {}", f.display()))
                    .unwrap_or_default()
            );
        }
    }
    Ok(if errors > 0 {
        ExitCode::from(crate::domain::exit::PROBLEMS)
    } else {
        ExitCode::SUCCESS
    })
}
