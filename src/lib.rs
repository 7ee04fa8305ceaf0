//! firebreak: automated incident response for AWS. A GuardDuty finding selects a YAML playbook,
//! the playbook bound to the finding compiles into a validated step DAG, and the DAG runs
//! against AWS with every step's evidence kept. See ARCHITECTURE.md for the code map.

pub mod actions;
pub mod asl;
pub mod audit;
pub mod aws;
pub mod catalog;
pub mod claim;
pub mod cli;
pub mod define;
pub mod diag;
pub mod drill;
pub mod engine;
pub mod evidence;
pub mod exit;
pub mod expr;
pub mod finding;
pub mod plan;
pub mod playbook;
pub mod render;
pub mod retry;
pub mod run;
pub mod scrub;
pub mod seal;
pub mod select;
pub mod serve;
pub mod setup;
pub mod sfn;
pub mod step;
pub mod watch;
pub mod worker;
pub mod yaml;
