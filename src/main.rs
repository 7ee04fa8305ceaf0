use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = firebreak::cli::Cli::parse();
    match firebreak::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
