//! The pure core: what a finding, a playbook, a plan and an action are, and the decisions made
//! over them. Nothing here calls AWS, starts a runtime or parses a command line (a test keeps
//! the AWS SDK, tokio and clap out).

pub mod catalog;
pub mod config;
pub mod define;
pub mod diag;
pub mod digest;
pub mod exit;
pub mod expr;
pub mod finding;
pub mod plan;
pub mod playbook;
pub mod render;
pub mod retry;
pub mod scrub;
pub mod select;
pub mod step;
pub mod triage;
pub mod yaml;
