//! The exit codes, one table for every command: what `main` returns, what `--help` prints and
//! what docs/commands.md lists (a test keeps the three equal).

use std::fmt;
use std::process::ExitCode;

/// Every exit code firebreak ends with, and its meaning.
pub const CODES: &[(u8, &str)] = &[
    (
        0,
        "done: what was asked was done (run: every step succeeded or was skipped with its reason; audit: the evidence passed)",
    ),
    (
        1,
        "problems found: invalid playbooks, a finding that cannot be bound, a step that failed, an audit or a drill check that failed",
    ),
    (
        2,
        "usage or input error: bad arguments, an unreadable or malformed file, a missing folder, an AWS or network error that stopped the command",
    ),
    (
        130,
        "stopped at once by a second Ctrl-C or SIGTERM (run): steps that were running may not have finished",
    ),
    (
        141,
        "the reader of standard output went away (as SIGPIPE ends a Unix tool)",
    ),
];

/// Problems found: exit 1.
pub const PROBLEMS: u8 = 1;
/// Usage or input error: exit 2.
pub const USAGE: u8 = 2;
/// Stopped at once by a second stop request: exit 130 (as a shell reports SIGINT).
pub const INTERRUPTED: u8 = 130;
/// Standard output closed: exit 141.
pub const CLOSED_PIPE: u8 = 141;

/// The table as `--help` prints it.
pub const HELP: &str = "Exit codes:
  0    done: what was asked was done (run: every step succeeded or was skipped with its reason; audit: the evidence passed)
  1    problems found: invalid playbooks, a finding that cannot be bound, a step that failed, an audit or a drill check that failed
  2    usage or input error: bad arguments, an unreadable or malformed file, a missing folder, an AWS or network error that stopped the command
  130  stopped at once by a second Ctrl-C or SIGTERM (run): steps that were running may not have finished
  141  the reader of standard output went away (as SIGPIPE ends a Unix tool)";

/// An error that means "problems found" (exit 1) rather than a usage or input error: the
/// command ran and found what it reports (invalid playbooks, for a command that needs them).
#[derive(Debug)]
pub struct Problems(pub String);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Problems {}

/// The exit code of a command that ended with `err`.
pub fn of_error(err: &anyhow::Error) -> ExitCode {
    if err.chain().any(|e| e.downcast_ref::<Problems>().is_some()) {
        ExitCode::from(PROBLEMS)
    } else {
        ExitCode::from(USAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_is_the_table() {
        let rows: Vec<String> = CODES
            .iter()
            .map(|(code, meaning)| format!("  {code:<4} {meaning}"))
            .collect();
        assert_eq!(HELP, format!("Exit codes:\n{}", rows.join("\n")));
    }

    #[test]
    fn the_docs_list_the_table() {
        let docs = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/commands.md"));
        for (code, meaning) in CODES {
            assert!(
                docs.contains(&format!("| `{code}` | {meaning} |")),
                "docs/commands.md lacks exit code {code}: {meaning}"
            );
        }
    }
}
