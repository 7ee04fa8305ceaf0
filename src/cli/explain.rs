//! `firebreak explain`: show which playbook each finding selects, and why every other one did not.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::{Output, load_playbooks, read_findings};
use crate::domain::{render, select};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Finding files (`-` for standard input): a finding, an EventBridge event, a GetFindings
    /// response, or NDJSON of them.
    #[arg(required = true)]
    pub findings: Vec<PathBuf>,
    #[arg(long, default_value = "playbooks")]
    pub playbooks: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

pub fn run(a: Args) -> Result<ExitCode> {
    explain(&a.findings, &a.playbooks, a.output)
}

fn explain(files: &[PathBuf], dir: &Path, output: Output) -> Result<ExitCode> {
    let set = load_playbooks(dir)?;
    let mut json_out = Vec::new();
    // Findings in text are apart by a blank line.
    let mut shown = 0;
    for file in files {
        let findings = read_findings(file)?;
        if findings.is_empty() && output == Output::Text {
            println!(
                "{}: no findings (an empty GetFindings response)",
                file.display()
            );
        }
        for f in findings {
            let sel = select::select(&f, &set.playbooks);
            match output {
                Output::Text => {
                    if shown > 0 {
                        println!();
                    }
                    shown += 1;
                    print!("{}", render::terminal_safe(&render::selection(&f, &sel)));
                }
                Output::Json => json_out.push(json!({
                    "finding_id": f.id,
                    "type": f.type_name,
                    "account_id": f.account_id,
                    "region": f.region,
                    "severity": f.severity,
                    "resource_type": f.resource_type,
                    "sample": f.sample,
                    "source": f.origin,
                    "playbook": sel.winner.map(|w| &w.name),
                    "candidates": sel.candidates,
                })),
            }
        }
    }
    if output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&json_out)?);
    }
    Ok(ExitCode::SUCCESS)
}
