//! `firebreak plan`: bind a finding to its playbook and print the resulting step DAG.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::{Output, load_playbooks, parse_input, read_findings};
use crate::domain::playbook::Playbook;
use crate::domain::{plan, render, select};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A finding file (`-` for standard input).
    pub finding: PathBuf,
    /// Use this playbook instead of the selected one.
    #[arg(long)]
    pub playbook: Option<String>,
    /// Set a playbook input (e.g. `--input sns_topic_arn=arn:aws:sns:…`); repeatable.
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_input)]
    pub inputs: Vec<(String, String)>,
    #[arg(long, default_value = "playbooks")]
    pub playbooks: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

pub fn run(a: Args) -> Result<ExitCode> {
    plan_cmd(
        &a.finding,
        a.playbook.as_deref(),
        &a.inputs.into_iter().collect(),
        &a.playbooks,
        a.output,
    )
}

fn plan_cmd(
    file: &Path,
    name: Option<&str>,
    inputs: &std::collections::BTreeMap<String, String>,
    dir: &Path,
    output: Output,
) -> Result<ExitCode> {
    let set = load_playbooks(dir)?;
    let findings = read_findings(file)?;
    let mut json_out = Vec::new();
    let mut failed = false;
    for f in &findings {
        let chosen: Option<&Playbook> = match name {
            Some(n) => Some(super::find_playbook(&set, n, dir)?),
            None => select::select(f, &set.playbooks).winner,
        };
        let Some(pb) = chosen else {
            match output {
                Output::Text => println!("{}\n  no playbook matches: firebreak takes no action (`firebreak explain` says why)", render::terminal_safe(&render::finding_line(f))),
                Output::Json => json_out.push(json!({"finding_id": f.id, "type": f.type_name, "playbook": null, "sample": f.sample})),
            }
            continue;
        };
        match plan::compile_with(f, pb, inputs) {
            Ok(p) => match output {
                Output::Text => print!(
                    "{}",
                    render::terminal_safe(&crate::domain::scrub::scrub_text(&render::plan(&p)))
                ),
                Output::Json => {
                    json_out.push(crate::domain::scrub::scrub(serde_json::to_value(&p)?))
                }
            },
            Err(errors) => {
                failed = true;
                for e in errors {
                    crate::say!("error: {}: {e}", f.origin.file);
                }
            }
        }
    }
    if output == Output::Json {
        let v = if json_out.len() == 1 {
            json_out.remove(0)
        } else {
            serde_json::Value::Array(json_out)
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(if failed {
        ExitCode::from(crate::domain::exit::PROBLEMS)
    } else {
        ExitCode::SUCCESS
    })
}
