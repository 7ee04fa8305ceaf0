use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = firebreak::cli::Cli::parse();
    let filter = std::env::var("FIREBREAK_LOG").ok();
    if let Err(e) = firebreak::cli::log::init(cli.log_style(), filter.as_deref()) {
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
