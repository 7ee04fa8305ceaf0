//! `firebreak triage`: what the triage rules decide for findings (`test`), and which GuardDuty
//! finding types no rule or playbook decides (`coverage`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::{Output, load_playbooks, read_findings};
use crate::domain::{select, triage};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand, Debug)]
pub enum What {
    /// Print each finding's decision (respond, ticket, ignore) and why: the rule that matched,
    /// or the default.
    Test {
        /// Finding files (`-` for standard input).
        #[arg(required = true)]
        findings: Vec<PathBuf>,
        #[arg(long, default_value = "playbooks")]
        playbooks: PathBuf,
        /// firebreak's configuration (default `FIREBREAK_CONFIG`, else `firebreak.yaml` here).
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// List GuardDuty's finding types that no triage rule and no playbook decides by type
    /// (they fall to the default: a ticket). Exit 1 when there are any.
    Coverage {
        #[arg(long, default_value = "playbooks")]
        playbooks: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub fn run(a: Args) -> Result<ExitCode> {
    match a.what {
        What::Test {
            findings,
            playbooks,
            config,
            output,
        } => {
            let config = crate::tickets::load_config(config.as_deref())?;
            let set = load_playbooks(&playbooks)?;
            let mut out = Vec::new();
            for file in &findings {
                for f in read_findings(file)? {
                    let pb = select::select(&f, &set.playbooks).winner;
                    let t = triage::decide(&config, &f, pb.map(|p| p.name.as_str()));
                    if output == Output::Text {
                        println!(
                            "{}: {}{}\n  {}: {}{}",
                            crate::domain::render::terminal_safe(&f.label()),
                            t.decision.as_str(),
                            pb.filter(|_| t.decision == crate::domain::config::Decision::Respond)
                                .map(|p| format!(" with playbook {}", p.name))
                                .unwrap_or_default(),
                            t.rule.as_deref().unwrap_or("default"),
                            t.reason,
                            if t.because.is_empty() {
                                String::new()
                            } else {
                                format!(" (matched: {})", t.because.join(", "))
                            }
                        );
                    }
                    out.push(serde_json::json!({
                        "finding_id": f.id,
                        "type": f.type_name,
                        "playbook": pb.map(|p| p.name.clone()),
                        "triage": t,
                    }));
                }
            }
            if output == Output::Json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        What::Coverage { playbooks, config } => {
            let config = crate::tickets::load_config(config.as_deref())?;
            let set = load_playbooks(&playbooks)?;
            let missing = triage::uncovered(&config, &set.playbooks);
            for t in &missing {
                println!("{t}");
            }
            eprintln!(
                "{} of {} GuardDuty finding types decided by no rule or playbook{}",
                missing.len(),
                crate::domain::finding::KNOWN_TYPES.len(),
                if missing.is_empty() {
                    String::new()
                } else {
                    " (each gets the default: a ticket for a person)".to_string()
                }
            );
            Ok(if missing.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(crate::domain::exit::PROBLEMS)
            })
        }
    }
}
