//! firebreak: automated incident response for AWS. A GuardDuty finding selects a YAML playbook,
//! the playbook bound to the finding compiles into a validated step DAG, and the DAG runs
//! against AWS with every step's evidence kept. See ARCHITECTURE.md for the code map.
//!
//! The folders, from the bottom up: `domain` (the pure core: findings, playbooks, plans, the
//! action catalog and definitions; no AWS SDK, tokio or clap), `aws` (clients and errors),
//! `engine` (the scheduler, the local engine's actions, the ASL compiler), `evidence` (records,
//! the store, seals, the audit), `contain` (the one "contain this finding" service, on either
//! engine), `tickets` (incidents and their tickets), `intake` (serve, watch, claims), `ops` (setup, drill) and `cli` (one file per
//! command).

pub mod aws;
pub mod cli;
pub mod contain;
pub mod domain;
pub mod engine;
pub mod evidence;
pub mod intake;
pub mod ops;
pub mod tickets;
