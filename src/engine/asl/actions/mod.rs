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
use crate::domain::catalog::{Action, How, Written};

mod ec2;

use super::act::{Act, Compiled};

/// The outputs an action's states give, by name.
type Outputs = BTreeMap<&'static str, Val>;

/// The states of `action`, ending at `succeeded`: its definition compiled, or the states
/// written for it.
pub(crate) fn compile(action: Action, a: &mut Act, succeeded: &str) -> Compiled {
    let written = match action.spec().how {
        How::Defined(def) => return super::define::compile(def, a, succeeded),
        How::Hand { written, .. } => written,
    };
    let mut outputs: BTreeMap<&'static str, Val> = BTreeMap::new();
    let first = match written {
        Written::IsolateInstance => ec2::isolate_instance(a, &mut outputs, succeeded),
    };
    Compiled { first, outputs }
}
