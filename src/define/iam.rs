//! IAM actions in the step vocabulary.

use super::{Absent, Arg, Ask, Call, Cond, Def, From, Lit, Op, Pick};

const USER: &[(&str, Arg)] = &[("UserName", Arg::Param("user_name"))];

/// Whether the user has a console password (IAM answers `NoSuchEntity` when not).
const LOGIN_PROFILE: Ask = Ask {
    call: Call {
        op: Op::IamGetLoginProfile,
        args: USER,
    },
    absent: Some(Absent {
        code: "NoSuchEntity",
        sfn_cause: None,
    }),
    picks: &[Pick {
        name: "exists",
        from: From::Present,
        default: Lit::Bool(false),
    }],
};

/// `iam.delete_login_profile`: the user's console password deleted.
pub const DELETE_LOGIN_PROFILE: Def = Def {
    before: &[LOGIN_PROFILE],
    done_when: Cond::Is("before.exists", Lit::Bool(false)),
    plan: "delete the console password of user {user_name}",
    change: &[Ask {
        call: Call {
            op: Op::IamDeleteLoginProfile,
            args: USER,
        },
        absent: None,
        picks: &[],
    }],
    after: &[LOGIN_PROFILE],
    verified_when: Some(Cond::Is("after.exists", Lit::Bool(false))),
    unverified: "user {user_name} still has a console password",
    outputs: &[("had_login_profile", "before.exists")],
};
