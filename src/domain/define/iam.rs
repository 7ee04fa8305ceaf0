//! IAM actions in the step vocabulary.

use super::{Absent, Arg, Ask, Call, Cmp, Cond, Def, Engine, From, Lit, Op, Pick, Refusal, Where};

const USER: &[(&str, Arg)] = &[("UserName", Arg::Param("user_name"))];

/// Whether the user has a console password (IAM answers `NoSuchEntity` when not).
const LOGIN_PROFILE: Ask = Ask {
    call: Call {
        op: Op::IamGetLoginProfile,
        args: USER,
    },
    each: None,
    only: None,
    when: None,
    absent: Some(Absent {
        codes: &["NoSuchEntity"],
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
    refuse: &[],
    done_when: Cond::Is("before.exists", Lit::Bool(false)),
    plan: "delete the console password of user {user_name}",
    change: &[Ask {
        call: Call {
            op: Op::IamDeleteLoginProfile,
            args: USER,
        },
        each: None,
        only: None,
        when: None,
        absent: None,
        picks: &[],
    }],
    after: &[LOGIN_PROFILE],
    verified_when: Some(Cond::Is("after.exists", Lit::Bool(false))),
    unverified: "user {user_name} still has a console password",
    outputs: &[("had_login_profile", "before.exists")],
};

const fn user_read(op: Op, picks: &'static [Pick]) -> Ask {
    Ask {
        call: Call { op, args: USER },
        each: None,
        only: None,
        when: None,
        absent: None,
        picks,
    }
}

/// A pick named `name` of every value at `path` (an empty list when there is none).
const fn listed(name: &'static str, path: &'static str) -> Pick {
    Pick {
        name,
        from: From::Each(path),
        default: Lit::Null,
    }
}

/// `iam.capture_user`: the user, its tags, keys (with their last use), policies, groups,
/// console password and MFA devices.
pub const CAPTURE_USER: Def = Def::capture(
    &[
        user_read(
            Op::IamGetUser,
            &[
                Pick {
                    name: "user_arn",
                    from: From::Member("User.Arn"),
                    default: Lit::Null,
                },
                Pick {
                    name: "user_id",
                    from: From::Member("User.UserId"),
                    default: Lit::Null,
                },
            ],
        ),
        user_read(Op::IamListUserTags, &[listed("tags", "Tags")]),
        user_read(
            Op::IamListAccessKeys,
            &[
                Pick {
                    name: "keys",
                    from: From::Where(&Where {
                        list: "AccessKeyMetadata",
                        key: "Status",
                        is: Arg::Text(""),
                        cmp: Cmp::All,
                        take: &["AccessKeyId", "Status"],
                        first: false,
                    }),
                    default: Lit::Null,
                },
                listed("key_ids", "AccessKeyMetadata[*].AccessKeyId"),
                Pick {
                    name: "active",
                    from: From::Where(&Where {
                        list: "AccessKeyMetadata",
                        key: "Status",
                        is: Arg::Text("Active"),
                        cmp: Cmp::Eq,
                        take: &["AccessKeyId"],
                        first: false,
                    }),
                    default: Lit::Null,
                },
            ],
        ),
        user_read(
            Op::IamListAttachedUserPolicies,
            &[listed(
                "attached_policy_arns",
                "AttachedPolicies[*].PolicyArn",
            )],
        ),
        user_read(
            Op::IamListUserPolicies,
            &[listed("inline_policy_names", "PolicyNames")],
        ),
        user_read(
            Op::IamListGroupsForUser,
            &[listed("groups", "Groups[*].GroupName")],
        ),
        Ask {
            picks: &[Pick {
                name: "has_login_profile",
                from: From::Present,
                default: Lit::Bool(false),
            }],
            ..LOGIN_PROFILE
        },
        user_read(
            Op::IamListMfaDevices,
            &[listed("mfa_serials", "MFADevices[*].SerialNumber")],
        ),
        // When each key was last used, where and for what. Local only: the emulator's Step
        // Functions cannot hold an answer's timestamp in the state.
        Ask {
            call: Call {
                op: Op::IamGetAccessKeyLastUsed,
                args: &[("AccessKeyId", Arg::Item)],
            },
            each: Some("before.key_ids"),
            only: Some(Engine::Local),
            when: None,
            absent: None,
            picks: &[
                Pick {
                    name: "last_used",
                    from: From::Member("AccessKeyLastUsed.LastUsedDate"),
                    default: Lit::Null,
                },
                Pick {
                    name: "last_used_service",
                    from: From::Member("AccessKeyLastUsed.ServiceName"),
                    default: Lit::Null,
                },
                Pick {
                    name: "last_used_region",
                    from: From::Member("AccessKeyLastUsed.Region"),
                    default: Lit::Null,
                },
            ],
        },
    ],
    &[
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

const fn read(op: Op, picks: &'static [Pick]) -> Ask {
    Ask {
        call: Call { op, args: ROLE },
        each: None,
        only: None,
        when: None,
        absent: None,
        picks,
    }
}

/// `iam.capture_role`: the role, its trust policy (URL-encoded, as IAM gives it), policies and
/// instance profiles.
pub const CAPTURE_ROLE: Def = Def::capture(
    &[
        read(
            Op::IamGetRole,
            &[
                Pick {
                    name: "role_arn",
                    from: From::Member("Role.Arn"),
                    default: Lit::Null,
                },
                Pick {
                    name: "trust_policy",
                    from: From::Member("Role.AssumeRolePolicyDocument"),
                    default: Lit::Null,
                },
            ],
        ),
        read(
            Op::IamListAttachedRolePolicies,
            &[Pick {
                name: "attached_policy_arns",
                from: From::Each("AttachedPolicies[*].PolicyArn"),
                default: Lit::Null,
            }],
        ),
        read(
            Op::IamListRolePolicies,
            &[Pick {
                name: "inline_policy_names",
                from: From::Each("PolicyNames"),
                default: Lit::Null,
            }],
        ),
        read(
            Op::IamListInstanceProfilesForRole,
            &[Pick {
                name: "instance_profile_names",
                from: From::Each("InstanceProfiles[*].InstanceProfileName"),
                default: Lit::Null,
            }],
        ),
    ],
    &[
        ("role_arn", "before.role_arn"),
        ("attached_policy_arns", "before.attached_policy_arns"),
        ("inline_policy_names", "before.inline_policy_names"),
        ("instance_profile_names", "before.instance_profile_names"),
    ],
);

/// The user's keys: the status of the finding's key, and every other key with its status.
const KEYS: Ask = Ask {
    call: Call {
        op: Op::IamListAccessKeys,
        args: USER,
    },
    each: None,
    only: None,
    when: None,
    absent: None,
    picks: &[
        Pick {
            name: "status",
            from: From::Where(&Where {
                list: "AccessKeyMetadata",
                key: "AccessKeyId",
                is: Arg::Param("access_key_id"),
                cmp: Cmp::Eq,
                take: &["Status"],
                first: true,
            }),
            default: Lit::Null,
        },
        Pick {
            name: "others",
            from: From::Where(&Where {
                list: "AccessKeyMetadata",
                key: "AccessKeyId",
                is: Arg::Param("access_key_id"),
                cmp: Cmp::Ne,
                take: &["AccessKeyId", "Status"],
                first: false,
            }),
            default: Lit::Null,
        },
    ],
};

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
    change: &[Ask {
        call: Call {
            op: Op::IamUpdateAccessKey,
            args: &[
                ("UserName", Arg::Param("user_name")),
                ("AccessKeyId", Arg::Param("access_key_id")),
                ("Status", Arg::Text("Inactive")),
            ],
        },
        each: None,
        only: None,
        when: None,
        absent: None,
        picks: &[],
    }],
    after: &[KEYS],
    verified_when: Some(Cond::All(&[
        Cond::Is("after.status", Lit::Text("Inactive")),
        Cond::Same("before.others", "after.others"),
    ])),
    unverified: "access key {access_key_id} of user {user_name} does not read back as Inactive and the other keys of the user untouched",
    outputs: &[("previous_status", "before.status")],
};

/// The serials of the user's MFA devices enabled after `enabled_after` (all when not given).
const MFA_TARGETS: Ask = Ask {
    call: Call {
        op: Op::IamListMfaDevices,
        args: USER,
    },
    each: None,
    only: None,
    when: None,
    absent: None,
    picks: &[Pick {
        name: "targets",
        from: From::Where(&Where {
            list: "MFADevices",
            key: "EnableDate",
            is: Arg::IfGiven("enabled_after"),
            cmp: Cmp::Later,
            take: &["SerialNumber"],
            first: false,
        }),
        default: Lit::Null,
    }],
};

/// `iam.deactivate_mfa_devices`: the user's MFA devices (those enabled after
/// `enabled_after`, when given: the attacker's) deactivated, one at a time; the read-back
/// finds none of them, nor one registered meanwhile.
pub const DEACTIVATE_MFA_DEVICES: Def = Def {
    before: &[MFA_TARGETS],
    refuse: &[],
    done_when: Cond::Empty("before.targets"),
    plan: "deactivate the MFA devices of user {user_name} (enabled after `{enabled_after}` when given)",
    change: &[Ask {
        call: Call {
            op: Op::IamDeactivateMfaDevice,
            args: &[
                ("UserName", Arg::Param("user_name")),
                ("SerialNumber", Arg::Item),
            ],
        },
        each: Some("before.targets"),
        only: None,
        when: None,
        absent: None,
        picks: &[],
    }],
    after: &[MFA_TARGETS],
    verified_when: Some(Cond::Empty("after.targets")),
    unverified: "an MFA device of user {user_name} is still active",
    outputs: &[("deactivated_serials", "before.targets")],
};
