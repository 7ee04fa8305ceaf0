//! `firebreak actions`: list the action catalog: parameters, outputs, permissions.

use std::process::ExitCode;

use anyhow::Result;

use super::Output;
use crate::domain::catalog::{Action, Engine};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

pub fn run(a: Args) -> Result<ExitCode> {
    actions(a.output)
}

fn actions(output: Output) -> Result<ExitCode> {
    match output {
        Output::Json => {
            let specs: Vec<_> = Action::ALL.iter().map(|a| a.spec()).collect();
            println!("{}", serde_json::to_string_pretty(&specs)?);
        }
        Output::Text => {
            for a in Action::ALL {
                let s = a.spec();
                println!(
                    "{}  ({:?}{})\n  {}",
                    s.name,
                    s.effect,
                    if s.mutates() { ", changes state" } else { "" },
                    s.doc
                );
                for p in s.params {
                    let req = if p.required { "required" } else { "optional" };
                    let def = p
                        .default
                        .map(|d| format!(", default {d}"))
                        .unwrap_or_default();
                    println!(
                        "    with.{}: {} ({req}{def}) — {}",
                        p.name,
                        p.ty.describe(),
                        p.doc
                    );
                }
                for o in s.outputs {
                    println!("    outputs.{}: {} — {}", o.name, o.ty.describe(), o.doc);
                }
                let permissions = s.permissions();
                if !permissions.is_empty() {
                    let named: Vec<String> = permissions
                        .iter()
                        .map(|p| match a.engine_only(p) {
                            Some(Engine::Local) => format!("{p} (local only)"),
                            Some(Engine::Sfn) => {
                                format!("{p} (Step Functions only)")
                            }
                            None => p.to_string(),
                        })
                        .collect();
                    println!("    permissions: {}", named.join(", "));
                }
                if !a.spec().undo.is_empty() {
                    println!("    undo: {}", a.spec().undo);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
