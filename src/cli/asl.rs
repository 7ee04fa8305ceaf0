//! `firebreak asl`: compile playbooks to AWS Step Functions state machines (Amazon States
//! Language).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Playbook files or names in --playbooks (default: every playbook there).
    pub playbooks_or_names: Vec<String>,
    #[arg(long, default_value = "playbooks")]
    pub playbooks: PathBuf,
    /// Write `<name>.asl.json` files into this folder instead of printing.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    asl_cmd(&a.playbooks_or_names, &a.playbooks, a.out.as_deref())
}

fn asl_cmd(which: &[String], dir: &Path, out: Option<&Path>) -> Result<ExitCode> {
    let Some(set) = super::load_named(which, dir)? else {
        return Ok(ExitCode::from(crate::domain::exit::PROBLEMS));
    };
    let mut chosen = Vec::new();
    for w in which {
        chosen.push(super::find_playbook(&set, w, dir)?);
    }
    if which.is_empty() {
        chosen = set.playbooks.iter().collect();
    }
    if out.is_none() && chosen.len() != 1 {
        anyhow::bail!(
            "{} playbooks to compile and no --out folder\n  hint: name one playbook, or give --out DIR to write one file each",
            chosen.len()
        );
    }
    let mut failed = false;
    for pb in chosen {
        match crate::engine::asl::compile(pb) {
            Ok(def) => {
                let text = crate::engine::asl::render(&def);
                match out {
                    Some(dir) => {
                        std::fs::create_dir_all(dir)
                            .with_context(|| format!("creating {}", dir.display()))?;
                        let file = dir.join(format!("{}.asl.json", pb.name));
                        std::fs::write(&file, text)
                            .with_context(|| format!("writing {}", file.display()))?;
                        println!("{}", file.display());
                    }
                    None => print!("{text}"),
                }
            }
            Err(errors) => {
                failed = true;
                for e in errors {
                    crate::say!("{}: cannot compile to Step Functions: {e}", pb.file);
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::from(crate::domain::exit::PROBLEMS)
    } else {
        ExitCode::SUCCESS
    })
}
