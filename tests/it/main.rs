//! One integration-test binary (linking the AWS SDK once): the real `firebreak` binary and
//! library against fixture findings and playbooks, and the real AWS SDK against the moto server.

mod support;

mod cli_no_panic;
mod explain;
mod findings;
mod moto_smoke;
mod plan;
mod run_ec2;
mod run_iam;
mod validate;
