//! One integration-test binary (linking the AWS SDK once): the real `firebreak` binary and
//! library against fixture findings and playbooks, and the real AWS SDK against the moto server.

mod support;

mod asl;
mod audit;
mod audit_index;
mod cli_no_panic;
mod close_loop;
mod drill;
mod ec2_roles;
mod evidence;
mod exit_codes;
mod explain;
mod fault_proxy;
mod findings;
mod forgery;
mod guardduty;
mod investigation;
mod layout;
mod moto_smoke;
mod parity;
mod permissions;
mod plan;
mod readme;
mod run_artifact;
mod run_backup;
mod run_cross_account;
mod run_dry;
mod run_ec2;
mod run_ecs;
mod run_eks;
mod run_faults;
mod run_iam;
mod run_lambda;
mod run_notify;
mod run_quarantine;
mod run_rds;
mod run_s3;
mod secrets;
mod serve;
mod setup;
mod snapshot_wait;
mod tickets;
mod validate;
mod watch;
