//! Each catalog action as Step Functions states: the same reads, changes and read-backs as
//! `crate::engine::local`, made through SDK service integrations (no Lambda).
//!
//! An action's states read their parameters from `$.steps.<id>.params` and keep the raw
//! answers they need under `$.steps.<id>` (`pre` before the change, `post` after). They end at
//! the step's `succeeded` state, or at its `failed` state with `$.steps.<id>.error` holding
//! `Error` and `Cause` (every Task catches `States.ALL`; a verification that fails sets its own
//! error). Inside a Parallel or Map branch a Catch cannot leave the branch, so there the branch
//! fails and the enclosing state catches.

use std::collections::BTreeMap;

use super::Val;
use crate::domain::catalog::Action;

mod ec2;
mod iam;
mod s3;

use super::act::{Act, Compiled};

/// The outputs an action's states give, by name.
type Outputs = BTreeMap<&'static str, Val>;

/// An action defined in the step vocabulary, compiled (`None` without a definition, which the
/// caller reports).
fn defined(action: Action, a: &mut Act, succeeded: &str) -> Option<Compiled> {
    action
        .definition()
        .map(|def| super::define::compile(def, a, succeeded))
}

/// The states of `action`, ending at `succeeded`; `None` when the action has no compilation.
pub(crate) fn compile(action: Action, a: &mut Act, succeeded: &str) -> Option<Compiled> {
    let mut outputs: BTreeMap<&'static str, Val> = BTreeMap::new();
    let first = match action {
        Action::IamRevokeRoleSessions => iam::revoke_role_sessions(a, &mut outputs, succeeded),
        Action::S3DenyPrincipal => s3::deny_principal(a, &mut outputs, succeeded),
        Action::Ec2SnapshotVolumes => ec2::snapshot_volumes(a, &mut outputs, succeeded),
        Action::Ec2IsolateInstance => ec2::isolate_instance(a, &mut outputs, succeeded),
        // Defined in the step vocabulary (`Action::definition`).
        Action::IamCaptureUser
        | Action::IamCaptureRole
        | Action::SnsPublish
        | Action::HttpWebhook
        | Action::Ec2CaptureInstance
        | Action::IamDeactivateAccessKey
        | Action::Ec2DisassociateInstanceProfile
        | Action::S3CaptureBucket
        | Action::S3BlockPublicAccess
        | Action::S3EnableVersioning
        | Action::Ec2PreserveInstance
        | Action::AutoscalingDetachInstance
        | Action::Ec2TagInstance
        | Action::IamDeleteLoginProfile
        | Action::IamDenyAllUser
        | Action::IamDeactivateMfaDevices
        | Action::Ec2StopInstance
        | Action::Ec2CaptureSnapshot
        | Action::Ec2MakeSnapshotPrivate
        | Action::Ec2TagSnapshot
        | Action::Ec2CaptureImage
        | Action::Ec2MakeImagePrivate
        | Action::Ec2TagImage
        | Action::LambdaCaptureFunction
        | Action::LambdaThrottleFunction
        | Action::LambdaDisableEventSourceMappings
        | Action::LambdaRestrictFunctionUrl
        | Action::Ec2CreateIsolationGroup
        | Action::Ec2CaptureIsolationGroup
        | Action::RdsCaptureDbInstance
        | Action::RdsSnapshotDbInstance
        | Action::RdsSnapshotDbCluster
        | Action::RdsIsolateDbInstance
        | Action::RdsIsolateDbCluster
        | Action::Elbv2DeregisterInstance => return defined(action, a, succeeded),
    };
    Some(Compiled { first, outputs })
}
