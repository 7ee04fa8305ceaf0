//! What the process logs on stderr, set up once by `main` for the command.
//!
//! - `serve` and `watch` write the JSON log: one object per line, flattened, with the
//!   `execution{execution_id, finding_id, playbook, engine}` and `step{step, action}` spans of
//!   the line in `spans`. Their own events (`firebreak::log`) and a line per step ended
//!   (`firebreak::step`) are always on; `FIREBREAK_LOG` adds what its filter selects.
//! - `drill` writes the same JSON lines for the queue's events when it runs `--via-queue`.
//! - Every other command logs only when `FIREBREAK_LOG` holds a filter, as text.
//!
//! Every line passes the secret scrubber (`domain::scrub::ScrubbedStderr`), and the AWS SDK's
//! wire dumps are never written.

use tracing::Level;
use tracing_subscriber::filter::{self, FilterExt as _};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::domain::scrub::ScrubbedStderr;

use crate::engine::STEPS;
use crate::intake::EVENTS;

/// How a command logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// The JSON log with the intake's events and a line per step.
    Intake,
    /// The JSON log with the intake's events only (a drill's queue).
    Events,
    /// Text, only what `FIREBREAK_LOG` selects.
    Diagnostic,
}

/// Sets up logging; `user` is `FIREBREAK_LOG`. An unreadable filter is an error (usage).
pub fn init(style: Style, user: Option<&str>) -> Result<(), String> {
    let user = user
        .map(EnvFilter::try_new)
        .transpose()
        .map_err(|e| e.to_string())?;
    let no_wire_dump = filter::filter_fn(|m| !is_wire_dump(m.target(), *m.level()));
    let registry = tracing_subscriber::registry();
    let result = match style {
        Style::Diagnostic => {
            let Some(user) = user else { return Ok(()) };
            registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(ScrubbedStderr)
                        .with_ansi(false)
                        .with_filter(user.and(no_wire_dump)),
                )
                .try_init()
        }
        Style::Intake | Style::Events => {
            let steps = style == Style::Intake;
            // The spans the lines name, and the intake's own events, at any user filter.
            let ours = filter::filter_fn(move |m| {
                let target = m.target();
                if m.is_span() {
                    return target.starts_with("firebreak") && *m.level() <= Level::INFO;
                }
                target == EVENTS || (steps && target == STEPS)
            });
            let json = tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(true)
                .with_target(false)
                .with_writer(ScrubbedStderr);
            match user {
                Some(user) => registry
                    .with(json.with_filter(ours.or(user).and(no_wire_dump)))
                    .try_init(),
                None => registry.with(json.with_filter(ours)).try_init(),
            }
        }
    };
    result.map_err(|e| e.to_string())
}

/// The AWS SDK's trace events that dump whole HTTP requests and responses: never logged, as
/// they carry the account's data (tags, policies, console output) where secrets hide.
fn is_wire_dump(target: &str, level: Level) -> bool {
    level == Level::TRACE && target.starts_with("aws_smithy_runtime::client::orchestrator")
}
