//! S3 actions in the step vocabulary.

use super::{Absent, Arg, Ask, Call, Cond, Def, From, Lit, Op, Pick};

/// `Bucket`, and `ExpectedBucketOwner` when the playbook gives one.
const BUCKET: &[(&str, Arg)] = &[
    ("Bucket", Arg::Param("bucket")),
    ("ExpectedBucketOwner", Arg::IfGiven("expected_owner")),
];

/// A flag of a public access block, `false` when missing or when the bucket has none.
const fn flag(name: &'static str, path: &'static str) -> Pick {
    Pick {
        name,
        from: From::At(path),
        default: Lit::Bool(false),
    }
}

const READ_BLOCK: Ask = Ask {
    call: Call {
        op: Op::S3GetPublicAccessBlock,
        args: BUCKET,
    },
    each: None,
    only: None,
    when: None,
    absent: Some(Absent {
        codes: &["NoSuchPublicAccessBlockConfiguration"],
        sfn_cause: Some("public access block configuration was not found"),
    }),
    picks: &[
        flag(
            "block_acls",
            "PublicAccessBlockConfiguration.BlockPublicAcls",
        ),
        flag(
            "ignore_acls",
            "PublicAccessBlockConfiguration.IgnorePublicAcls",
        ),
        flag(
            "block_policy",
            "PublicAccessBlockConfiguration.BlockPublicPolicy",
        ),
        flag(
            "restrict_buckets",
            "PublicAccessBlockConfiguration.RestrictPublicBuckets",
        ),
    ],
};

const ON_BEFORE: [Cond; 4] = [
    Cond::Is("before.block_acls", Lit::Bool(true)),
    Cond::Is("before.ignore_acls", Lit::Bool(true)),
    Cond::Is("before.block_policy", Lit::Bool(true)),
    Cond::Is("before.restrict_buckets", Lit::Bool(true)),
];
const ON_AFTER: [Cond; 4] = [
    Cond::Is("after.block_acls", Lit::Bool(true)),
    Cond::Is("after.ignore_acls", Lit::Bool(true)),
    Cond::Is("after.block_policy", Lit::Bool(true)),
    Cond::Is("after.restrict_buckets", Lit::Bool(true)),
];

/// `s3.block_public_access`: all four Block Public Access flags of the bucket on.
pub const BLOCK_PUBLIC_ACCESS: Def = Def {
    before: &[READ_BLOCK],
    refuse: &[],
    done_when: Cond::All(&ON_BEFORE),
    plan: "turn on all four Block Public Access flags of bucket {bucket}",
    change: &[Ask {
        call: Call {
            op: Op::S3PutPublicAccessBlock,
            args: &[
                ("Bucket", Arg::Param("bucket")),
                ("ExpectedBucketOwner", Arg::IfGiven("expected_owner")),
                (
                    "PublicAccessBlockConfiguration",
                    Arg::Obj(&[
                        ("BlockPublicAcls", Arg::Bool(true)),
                        ("IgnorePublicAcls", Arg::Bool(true)),
                        ("BlockPublicPolicy", Arg::Bool(true)),
                        ("RestrictPublicBuckets", Arg::Bool(true)),
                    ]),
                ),
            ],
        },
        each: None,
        only: None,
        when: None,
        absent: None,
        picks: &[],
    }],
    after: &[READ_BLOCK],
    verified_when: Some(Cond::All(&ON_AFTER)),
    unverified: "bucket {bucket} public access block does not read back with all four flags on",
    outputs: &[],
};

const READ_VERSIONING: Ask = Ask {
    call: Call {
        op: Op::S3GetBucketVersioning,
        args: BUCKET,
    },
    each: None,
    only: None,
    when: None,
    absent: None,
    // `Status` is missing when versioning was never set.
    picks: &[Pick {
        name: "status",
        from: From::At("Status"),
        default: Lit::Text(""),
    }],
};

/// `s3.enable_versioning`: the bucket's versioning `Enabled`.
pub const ENABLE_VERSIONING: Def = Def {
    before: &[READ_VERSIONING],
    refuse: &[],
    done_when: Cond::Is("before.status", Lit::Text("Enabled")),
    plan: "turn on versioning of bucket {bucket}",
    change: &[Ask {
        call: Call {
            op: Op::S3PutBucketVersioning,
            args: &[
                ("Bucket", Arg::Param("bucket")),
                ("ExpectedBucketOwner", Arg::IfGiven("expected_owner")),
                (
                    "VersioningConfiguration",
                    Arg::Obj(&[("Status", Arg::Text("Enabled"))]),
                ),
            ],
        },
        each: None,
        only: None,
        when: None,
        absent: None,
        picks: &[],
    }],
    after: &[READ_VERSIONING],
    verified_when: Some(Cond::Is("after.status", Lit::Text("Enabled"))),
    unverified: "bucket {bucket} versioning does not read back as Enabled",
    outputs: &[("previous_status", "before.status")],
};

const fn read(op: Op, absent: Option<Absent>, picks: &'static [Pick]) -> Ask {
    Ask {
        call: Call { op, args: BUCKET },
        each: None,
        only: None,
        when: None,
        absent,
        picks,
    }
}

/// `s3.capture_bucket`: the bucket's policy (its text), ACL, public access block, versioning
/// and object ownership, each as S3 gives it.
pub const CAPTURE_BUCKET: Def = Def::capture(
    &[
        read(
            Op::S3GetBucketPolicy,
            Some(Absent {
                codes: &["NoSuchBucketPolicy"],
                sfn_cause: Some("bucket policy does not exist"),
            }),
            &[
                Pick {
                    name: "has_policy",
                    from: From::Present,
                    default: Lit::Bool(false),
                },
                Pick {
                    name: "policy",
                    from: From::Member("Policy"),
                    default: Lit::Null,
                },
            ],
        ),
        read(
            Op::S3GetBucketAcl,
            None,
            &[
                Pick {
                    name: "acl_owner",
                    from: From::Member("Owner.ID"),
                    default: Lit::Null,
                },
                Pick {
                    name: "acl_grants",
                    from: From::Member("Grants"),
                    default: Lit::Null,
                },
            ],
        ),
        READ_BLOCK,
        READ_VERSIONING,
        read(
            Op::S3GetBucketOwnershipControls,
            // Not every bucket has ownership controls, nor every S3 implementation.
            Some(Absent {
                codes: &["OwnershipControlsNotFoundError", "NotImplemented"],
                sfn_cause: Some("ownership controls were not found"),
            }),
            &[Pick {
                name: "object_ownership",
                from: From::Each("OwnershipControls.Rules[*].ObjectOwnership"),
                default: Lit::Null,
            }],
        ),
    ],
    &[
        ("has_policy", "before.has_policy"),
        ("versioning", "before.status"),
    ],
);
