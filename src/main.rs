use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = firebreak::cli::Cli::parse();
    if let Err(e) = init_logging() {
        firebreak::say!(
            "error: FIREBREAK_LOG: {e}\n  hint: a tracing filter such as `debug` or `firebreak=debug,aws_smithy_runtime=trace`"
        );
        return ExitCode::from(firebreak::domain::exit::USAGE);
    }
    match firebreak::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            firebreak::say!("error: {e:#}");
            firebreak::domain::exit::of_error(&e)
        }
    }
}

/// `firebreak actions | head -1`: when the reader of stdout goes away, the program ends as a
/// Unix tool killed by SIGPIPE does (status 141, nothing printed), not with a panic message.
/// (SIGPIPE itself stays ignored, so that a socket closed by its peer is an error, not a
/// death.)
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(i32::from(firebreak::domain::exit::CLOSED_PIPE));
        }
        default(info);
    }));
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
                .with_writer(firebreak::domain::scrub::ScrubbedStderr)
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
