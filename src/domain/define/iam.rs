//! IAM actions in the step vocabulary.

use super::{Arg, Ask, Cmp, Cond, Def, Engine, Lit, Op, Pick, Refusal, Where};
use crate::domain::catalog::names::{DENY_ALL_ARN, REVOKE_SID};

const USER: &[(&str, Arg)] = &[("UserName", Arg::Param("user_name"))];

/// Whether the user has a console password (IAM answers `NoSuchEntity` when not).
const LOGIN_PROFILE: Ask = Ask::to(Op::IamGetLoginProfile, USER)
    .absent_on(&["NoSuchEntity"], None)
    .keeping(&[Pick::present("exists")]);

/// `iam.delete_login_profile`: the user's console password deleted.
pub const DELETE_LOGIN_PROFILE: Def = Def {
    before: &[LOGIN_PROFILE],
    refuse: &[],
    done_when: Cond::Is("before.exists", Lit::Bool(false)),
    plan: "delete the console password of user {user_name}",
    change: &[Ask::to(Op::IamDeleteLoginProfile, USER)],
    after: &[LOGIN_PROFILE],
    verified_when: Some(Cond::Is("after.exists", Lit::Bool(false))),
    unverified: "user {user_name} still has a console password",
    outputs: &[("had_login_profile", "before.exists")],
};

/// The items of `AccessKeyMetadata` whose `key` compares with `is` by `cmp`: their `take`.
const fn keys(
    key: &'static str,
    is: Arg,
    cmp: Cmp,
    take: &'static [&'static str],
    first: bool,
) -> Where {
    Where {
        list: "AccessKeyMetadata",
        key,
        is,
        cmp,
        except: &[],
        take,
        first,
    }
}

/// `iam.capture_user`: the user, its tags, keys (with their last use), policies, groups,
/// console password and MFA devices.
pub const CAPTURE_USER: Def = Def::capture(
    &[
        Ask::to(Op::IamGetUser, USER).keeping(&[
            Pick::member("user_arn", "User.Arn"),
            Pick::member("user_id", "User.UserId"),
        ]),
        Ask::to(Op::IamListUserTags, USER).keeping(&[Pick::each("tags", "Tags")]),
        Ask::to(Op::IamListAccessKeys, USER).keeping(&[
            Pick::selected(
                "keys",
                &keys(
                    "Status",
                    Arg::Text(""),
                    Cmp::All,
                    &["AccessKeyId", "Status"],
                    false,
                ),
                Lit::Null,
            ),
            Pick::each("key_ids", "AccessKeyMetadata[*].AccessKeyId"),
            Pick::selected(
                "active",
                &keys(
                    "Status",
                    Arg::Text("Active"),
                    Cmp::Eq,
                    &["AccessKeyId"],
                    false,
                ),
                Lit::Null,
            ),
        ]),
        Ask::to(Op::IamListAttachedUserPolicies, USER).keeping(&[Pick::each(
            "attached_policy_arns",
            "AttachedPolicies[*].PolicyArn",
        )]),
        Ask::to(Op::IamListUserPolicies, USER)
            .keeping(&[Pick::each("inline_policy_names", "PolicyNames")]),
        Ask::to(Op::IamListGroupsForUser, USER)
            .keeping(&[Pick::each("groups", "Groups[*].GroupName")]),
        LOGIN_PROFILE.keeping(&[Pick::present("has_login_profile")]),
        Ask::to(Op::IamListMfaDevices, USER)
            .keeping(&[Pick::each("mfa_serials", "MFADevices[*].SerialNumber")]),
        // When each key was last used, where and for what. Local only: the emulator's Step
        // Functions cannot hold an answer's timestamp in the state.
        Ask::to(Op::IamGetAccessKeyLastUsed, &[("AccessKeyId", Arg::Item)])
            .for_each("before.key_ids")
            .only_on(Engine::Local)
            .keeping(&[
                Pick::member("last_used", "AccessKeyLastUsed.LastUsedDate"),
                Pick::member("last_used_service", "AccessKeyLastUsed.ServiceName"),
                Pick::member("last_used_region", "AccessKeyLastUsed.Region"),
            ]),
    ],
    &[
        ("user_arn", "before.user_arn"),
        ("access_key_ids", "before.key_ids"),
        ("active_access_key_ids", "before.active"),
        ("attached_policy_arns", "before.attached_policy_arns"),
        ("inline_policy_names", "before.inline_policy_names"),
        ("groups", "before.groups"),
        ("has_login_profile", "before.has_login_profile"),
        ("mfa_serials", "before.mfa_serials"),
    ],
);

const ROLE: &[(&str, Arg)] = &[("RoleName", Arg::Param("role_name"))];

/// `iam.capture_role`: the role, its trust policy (URL-encoded, as IAM gives it), policies and
/// instance profiles.
pub const CAPTURE_ROLE: Def = Def::capture(
    &[
        Ask::to(Op::IamGetRole, ROLE).keeping(&[
            Pick::member("role_arn", "Role.Arn"),
            Pick::member("trust_policy", "Role.AssumeRolePolicyDocument"),
        ]),
        Ask::to(Op::IamListAttachedRolePolicies, ROLE).keeping(&[Pick::each(
            "attached_policy_arns",
            "AttachedPolicies[*].PolicyArn",
        )]),
        Ask::to(Op::IamListRolePolicies, ROLE)
            .keeping(&[Pick::each("inline_policy_names", "PolicyNames")]),
        Ask::to(Op::IamListInstanceProfilesForRole, ROLE).keeping(&[Pick::each(
            "instance_profile_names",
            "InstanceProfiles[*].InstanceProfileName",
        )]),
    ],
    &[
        ("role_arn", "before.role_arn"),
        ("attached_policy_arns", "before.attached_policy_arns"),
        ("inline_policy_names", "before.inline_policy_names"),
        ("instance_profile_names", "before.instance_profile_names"),
    ],
);

/// The user's keys: the status of the finding's key, and every other key with its status.
const KEYS: Ask = Ask::to(Op::IamListAccessKeys, USER).keeping(&[
    Pick::selected(
        "status",
        &keys(
            "AccessKeyId",
            Arg::Param("access_key_id"),
            Cmp::Eq,
            &["Status"],
            true,
        ),
        Lit::Null,
    ),
    Pick::selected(
        "others",
        &keys(
            "AccessKeyId",
            Arg::Param("access_key_id"),
            Cmp::Ne,
            &["AccessKeyId", "Status"],
            false,
        ),
        Lit::Null,
    ),
]);

/// `iam.deactivate_access_key`: exactly the finding's key `Inactive`, the user's other keys
/// untouched (a key that is not the user's is refused: nothing is changed).
pub const DEACTIVATE_ACCESS_KEY: Def = Def {
    before: &[KEYS],
    refuse: &[Refusal {
        when: Cond::Is("before.status", Lit::Null),
        code: "NoSuchEntity",
        message: "access key {access_key_id} is not a key of user {user_name}; no key was changed",
    }],
    done_when: Cond::Is("before.status", Lit::Text("Inactive")),
    plan: "set access key {access_key_id} of user {user_name} to Inactive",
    change: &[Ask::to(
        Op::IamUpdateAccessKey,
        &[
            ("UserName", Arg::Param("user_name")),
            ("AccessKeyId", Arg::Param("access_key_id")),
            ("Status", Arg::Text("Inactive")),
        ],
    )],
    after: &[KEYS],
    verified_when: Some(Cond::All(&[
        Cond::Is("after.status", Lit::Text("Inactive")),
        Cond::Same("before.others", "after.others"),
    ])),
    unverified: "access key {access_key_id} of user {user_name} does not read back as Inactive and the other keys of the user untouched",
    outputs: &[("previous_status", "before.status")],
};

/// The serials of the user's MFA devices enabled after `enabled_after` (all when not given).
const MFA_TARGETS: Ask = Ask::to(Op::IamListMfaDevices, USER).keeping(&[Pick::selected(
    "targets",
    &Where {
        list: "MFADevices",
        key: "EnableDate",
        is: Arg::IfGiven("enabled_after"),
        cmp: Cmp::Later,
        except: &[],
        take: &["SerialNumber"],
        first: false,
    },
    Lit::Null,
)]);

/// `iam.deactivate_mfa_devices`: the user's MFA devices (those enabled after
/// `enabled_after`, when given: the attacker's) deactivated, one at a time; the read-back
/// finds none of them, nor one registered meanwhile.
pub const DEACTIVATE_MFA_DEVICES: Def = Def {
    before: &[MFA_TARGETS],
    refuse: &[],
    done_when: Cond::Empty("before.targets"),
    plan: "deactivate the MFA devices of user {user_name} (enabled after `{enabled_after}` when given)",
    change: &[Ask::to(
        Op::IamDeactivateMfaDevice,
        &[
            ("UserName", Arg::Param("user_name")),
            ("SerialNumber", Arg::Item),
        ],
    )
    .for_each("before.targets")],
    after: &[MFA_TARGETS],
    verified_when: Some(Cond::Empty("after.targets")),
    unverified: "an MFA device of user {user_name} is still active",
    outputs: &[("deactivated_serials", "before.targets")],
};

/// Whether AWS's managed `AWSDenyAll` is attached to the user.
const DENY_ALL_ATTACHED: Ask =
    Ask::to(Op::IamListAttachedUserPolicies, USER).keeping(&[Pick::selected(
        "attached",
        &Where {
            list: "AttachedPolicies",
            key: "PolicyArn",
            is: Arg::Text(DENY_ALL_ARN),
            cmp: Cmp::Eq,
            except: &[],
            take: &["PolicyArn"],
            first: true,
        },
        Lit::Null,
    )]);

/// `iam.deny_all_user`: AWS's managed `AWSDenyAll` attached to the user, which denies every
/// action to its keys and console sessions. A managed policy, not an inline one, so that the
/// responder's permission can be `iam:AttachUserPolicy` for that one policy only
/// (`iam:PolicyARN`): `iam:PutUserPolicy` would let whoever holds the responder's role write
/// itself an Allow-all.
pub const DENY_ALL_USER: Def = Def {
    before: &[DENY_ALL_ATTACHED],
    refuse: &[],
    done_when: Cond::Is("before.attached", Lit::Text(DENY_ALL_ARN)),
    plan: "attach the AWS managed policy AWSDenyAll to user {user_name}",
    change: &[Ask::to(
        Op::IamAttachUserPolicy,
        &[
            ("UserName", Arg::Param("user_name")),
            ("PolicyArn", Arg::Text(DENY_ALL_ARN)),
        ],
    )],
    after: &[DENY_ALL_ATTACHED],
    verified_when: Some(Cond::Is("after.attached", Lit::Text(DENY_ALL_ARN))),
    unverified: "AWSDenyAll does not read back as attached to user {user_name}",
    outputs: &[],
};

const ROLE_POLICY: &[(&str, Arg)] = &[
    ("RoleName", Arg::Param("role_name")),
    ("PolicyName", Arg::Param("policy_name")),
];

/// The revocation policy as it stands: present, its document (evidence) and the time before
/// which it denies every session, when it is a revocation.
const REVOCATION: Ask = Ask::to(Op::IamGetRolePolicy, ROLE_POLICY)
    .absent_on(&["NoSuchEntity"], None)
    .keeping(&[
        Pick::present("exists"),
        Pick::policy("policy", "PolicyDocument"),
        Pick::revoked_before("revoked_before", "PolicyDocument"),
    ]);

/// `iam.revoke_role_sessions`: every session of the role issued before the step started
/// denied, by an inline policy (the console's "Revoke active sessions"). A revocation in place
/// is kept when it covers the latest activity the finding reports (or, when it gives none,
/// now): moving it forward would also cut sessions started legitimately after containment. One
/// that is older (last month's, an earlier incident's) or not a plain deny of everything is
/// replaced: sessions issued after its date (the attacker's) would survive it. IAM answers the
/// document URL-encoded, which no Step Functions intrinsic decodes: a state machine cannot see
/// a revocation in place, and always moves it to now; nor can it read the document back, so
/// it checks only that the policy is there.
pub const REVOKE_ROLE_SESSIONS: Def = Def {
    before: &[REVOCATION],
    refuse: &[],
    done_when: Cond::Any(&[
        Cond::NotBefore("before.revoked_before", Arg::IfGiven("last_activity")),
        Cond::NotBefore("before.revoked_before", Arg::Value(super::NOW)),
    ]),
    plan: "deny every session of role {role_name} issued before now ({policy_name})",
    change: &[Ask::to(
        Op::IamPutRolePolicy,
        &[
            ("RoleName", Arg::Param("role_name")),
            ("PolicyName", Arg::Param("policy_name")),
            (
                "PolicyDocument",
                Arg::Json(&[
                    ("Version", Arg::Text("2012-10-17")),
                    (
                        "Statement",
                        Arg::List(&[Arg::Obj(&[
                            ("Sid", Arg::Text(REVOKE_SID)),
                            ("Effect", Arg::Text("Deny")),
                            ("Action", Arg::Text("*")),
                            ("Resource", Arg::Text("*")),
                            (
                                "Condition",
                                Arg::Obj(&[(
                                    "DateLessThan",
                                    Arg::Obj(&[("aws:TokenIssueTime", Arg::Value(super::NOW))]),
                                )]),
                            ),
                        ])]),
                    ),
                ]),
            ),
        ],
    )],
    after: &[REVOCATION],
    verified_when: Some(Cond::All(&[
        Cond::Is("after.exists", Lit::Bool(true)),
        Cond::Local(&Cond::Same("after.revoked_before", super::NOW)),
    ])),
    unverified: "policy {policy_name} on role {role_name} does not read back as written",
    outputs: &[(
        "issued_before",
        "after.revoked_before|before.revoked_before|step.now",
    )],
};
