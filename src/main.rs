use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = firebreak::cli::Cli::parse();
    if let Err(e) = init_logging() {
        firebreak::say!(
            "error: FIREBREAK_LOG: {e}\n  hint: a tracing filter such as `debug` or `firebreak=debug,aws_smithy_runtime=trace`"
        );
        return ExitCode::from(2);
    }
    match firebreak::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            firebreak::say!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Diagnostic logging (firebreak's and the AWS SDK's) on stderr when `FIREBREAK_LOG` holds a
/// filter; every line passes the secret scrubber. Off by default: the progress lines suffice.
fn init_logging() -> Result<(), String> {
    let Ok(filter) = std::env::var("FIREBREAK_LOG") else {
        return Ok(());
    };
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).map_err(|e| e.to_string())?;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(firebreak::scrub::ScrubbedStderr)
                .with_ansi(false),
        )
        .with(filter)
        .with(tracing_subscriber::filter::filter_fn(|meta| {
            !is_wire_dump(meta.target(), *meta.level())
        }))
        .try_init()
        .map_err(|e| e.to_string())
}

/// The AWS SDK's trace events that dump whole HTTP requests and responses: never logged, as
/// they carry the account's data (tags, policies, console output) where secrets hide.
fn is_wire_dump(target: &str, level: tracing::Level) -> bool {
    level == tracing::Level::TRACE && target.starts_with("aws_smithy_runtime::client::orchestrator")
}
