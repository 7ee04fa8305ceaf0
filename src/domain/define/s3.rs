//! S3 actions in the step vocabulary.

use super::{Arg, Ask, Cmp, Cond, Def, Lit, Op, Pick, Refusal, Where};
use crate::domain::catalog::names::QUARANTINE_TAG;

/// `Bucket`, and `ExpectedBucketOwner` when the playbook gives one.
const BUCKET: &[(&str, Arg)] = &[
    ("Bucket", Arg::Param("bucket")),
    ("ExpectedBucketOwner", Arg::IfGiven("expected_owner")),
];

/// A flag of the public access block, `false` when missing or when the bucket has none.
const fn flag(name: &'static str, member: &'static str) -> Pick {
    Pick::at(name, member, Lit::Bool(false))
}

const READ_BLOCK: Ask = Ask::to(Op::S3GetPublicAccessBlock, BUCKET)
    .absent_on(
        &["NoSuchPublicAccessBlockConfiguration"],
        Some("public access block configuration was not found"),
    )
    .keeping(&[
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
    ]);

/// All four flags on (the values named).
const fn all_on(
    acls: &'static str,
    ignore: &'static str,
    policy: &'static str,
    restrict: &'static str,
) -> [Cond; 4] {
    [
        Cond::Is(acls, Lit::Bool(true)),
        Cond::Is(ignore, Lit::Bool(true)),
        Cond::Is(policy, Lit::Bool(true)),
        Cond::Is(restrict, Lit::Bool(true)),
    ]
}

const ON_BEFORE: [Cond; 4] = all_on(
    "before.block_acls",
    "before.ignore_acls",
    "before.block_policy",
    "before.restrict_buckets",
);
const ON_AFTER: [Cond; 4] = all_on(
    "after.block_acls",
    "after.ignore_acls",
    "after.block_policy",
    "after.restrict_buckets",
);

/// `s3.block_public_access`: all four Block Public Access flags of the bucket on.
pub const BLOCK_PUBLIC_ACCESS: Def = Def {
    before: &[READ_BLOCK],
    refuse: &[],
    done_when: Cond::All(&ON_BEFORE),
    plan: "turn on all four Block Public Access flags of bucket {bucket}",
    change: &[Ask::to(
        Op::S3PutPublicAccessBlock,
        &[
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
    )],
    after: &[READ_BLOCK],
    verified_when: Some(Cond::All(&ON_AFTER)),
    unverified: "bucket {bucket} public access block does not read back with all four flags on",
    outputs: &[],
};

// `Status` is missing when versioning was never set.
const READ_VERSIONING: Ask = Ask::to(Op::S3GetBucketVersioning, BUCKET).keeping(&[Pick::at(
    "status",
    "Status",
    Lit::Text(""),
)]);

/// `s3.enable_versioning`: the bucket's versioning `Enabled`.
pub const ENABLE_VERSIONING: Def = Def {
    before: &[READ_VERSIONING],
    refuse: &[],
    done_when: Cond::Is("before.status", Lit::Text("Enabled")),
    plan: "turn on versioning of bucket {bucket}",
    change: &[Ask::to(
        Op::S3PutBucketVersioning,
        &[
            ("Bucket", Arg::Param("bucket")),
            ("ExpectedBucketOwner", Arg::IfGiven("expected_owner")),
            (
                "VersioningConfiguration",
                Arg::Obj(&[("Status", Arg::Text("Enabled"))]),
            ),
        ],
    )],
    after: &[READ_VERSIONING],
    verified_when: Some(Cond::Is("after.status", Lit::Text("Enabled"))),
    unverified: "bucket {bucket} versioning does not read back as Enabled",
    outputs: &[("previous_status", "before.status")],
};

/// `s3.capture_bucket`: the bucket's policy (its text), ACL, public access block, versioning
/// and object ownership, each as S3 gives it.
pub const CAPTURE_BUCKET: Def = Def::capture(
    &[
        Ask::to(Op::S3GetBucketPolicy, BUCKET)
            .absent_on(
                &["NoSuchBucketPolicy"],
                Some("bucket policy does not exist"),
            )
            .keeping(&[
                Pick::present("has_policy"),
                Pick::member("policy", "Policy"),
            ]),
        Ask::to(Op::S3GetBucketAcl, BUCKET).keeping(&[
            Pick::member("acl_owner", "Owner.ID"),
            Pick::member("acl_grants", "Grants"),
        ]),
        READ_BLOCK,
        READ_VERSIONING,
        // Not every bucket has ownership controls, nor every S3 implementation.
        Ask::to(Op::S3GetBucketOwnershipControls, BUCKET)
            .absent_on(
                &["OwnershipControlsNotFoundError", "NotImplemented"],
                Some("ownership controls were not found"),
            )
            .keeping(&[Pick::each(
                "object_ownership",
                "OwnershipControls.Rules[*].ObjectOwnership",
            )]),
    ],
    &[
        ("has_policy", "before.has_policy"),
        ("versioning", "before.status"),
    ],
);

/// The partition of the principal's ARN (`aws`, `aws-cn`, `aws-us-gov`), the bucket's too.
const PARTITION: Arg = Arg::ArnPart("principal_arn", 1);

/// The statement `s3.deny_principal` adds: the principal denied every S3 action on the bucket
/// and its objects, without a condition. It has no `Sid`: the statement is known by what it
/// says, so one for each principal stands beside the others, and a statement someone wrote
/// first under a name firebreak might use (weaker, or for another principal) neither counts as
/// done nor is replaced.
const DENY: &[(&str, Arg)] = &[
    ("Effect", Arg::Text("Deny")),
    (
        "Principal",
        Arg::Obj(&[("AWS", Arg::Param("principal_arn"))]),
    ),
    ("Action", Arg::Text("s3:*")),
    (
        "Resource",
        Arg::List(&[
            Arg::Format("arn:{}:s3:::{}", &[PARTITION, Arg::Param("bucket")]),
            Arg::Format("arn:{}:s3:::{}/*", &[PARTITION, Arg::Param("bucket")]),
        ]),
    ),
];

/// The bucket's policy, as S3 gives it (JSON text), null when it has none.
const READ_POLICY: Ask = Ask::to(Op::S3GetBucketPolicy, BUCKET)
    .absent_on(
        &["NoSuchBucketPolicy"],
        Some("bucket policy does not exist"),
    )
    .keeping(&[Pick::at("policy", "Policy", Lit::Null)]);

/// `s3.deny_principal`: the bucket policy gains [`DENY`] for the principal; every statement it
/// had stays.
pub const DENY_PRINCIPAL: Def = Def {
    before: &[READ_POLICY],
    refuse: &[Refusal {
        when: Cond::Not(&Cond::PolicyText("before.policy")),
        code: "MalformedPolicy",
        message: "the policy of bucket {bucket} is not a JSON policy document; not changed",
    }],
    done_when: Cond::HasStatement("before.policy", DENY),
    plan: "add a Deny for {principal_arn} to the policy of bucket {bucket}, keeping its statements",
    change: &[Ask::to(
        Op::S3PutBucketPolicy,
        &[
            ("Bucket", Arg::Param("bucket")),
            ("ExpectedBucketOwner", Arg::IfGiven("expected_owner")),
            ("Policy", Arg::WithStatement("before.policy", DENY)),
        ],
    )],
    after: &[READ_POLICY],
    verified_when: Some(Cond::All(&[
        Cond::HasStatement("after.policy", DENY),
        Cond::Keeps("before.policy", "after.policy"),
    ])),
    unverified: "the policy of bucket {bucket} does not read back with the deny and every earlier statement",
    outputs: &[],
};

/// The object (the version scanned, when given).
const OBJECT: &[(&str, Arg)] = &[
    ("Bucket", Arg::Param("bucket")),
    ("Key", Arg::Param("key")),
    ("VersionId", Arg::IfGiven("version_id")),
    ("ExpectedBucketOwner", Arg::IfGiven("expected_owner")),
];

/// The object's tags other than the quarantine tag.
const OTHER_TAGS: Where = Where {
    list: "TagSet",
    key: "Key",
    is: Arg::Text(QUARANTINE_TAG),
    cmp: Cmp::Ne,
    except: &[],
    take: &["Key", "Value"],
    first: false,
};

/// The quarantine tag's value.
const MARK: Where = Where {
    list: "TagSet",
    key: "Key",
    is: Arg::Text(QUARANTINE_TAG),
    cmp: Cmp::Eq,
    except: &[],
    take: &["Value"],
    first: true,
};

const READ_TAGS: Ask = Ask::to(Op::S3GetObjectTagging, OBJECT).keeping(&[
    Pick::selected("others", &OTHER_TAGS, Lit::EmptyList),
    Pick::selected("mark", &MARK, Lit::Text("")),
]);

/// The statement `s3.quarantine_object` adds, one for the bucket: nobody reads an object
/// tagged for quarantine, or changes its tags (which would release it); deleting it stays a
/// person's decision.
const QUARANTINED: &[(&str, Arg)] = &[
    ("Effect", Arg::Text("Deny")),
    ("Principal", Arg::Text("*")),
    (
        "Action",
        Arg::List(&[
            Arg::Text("s3:GetObject"),
            Arg::Text("s3:GetObjectVersion"),
            Arg::Text("s3:PutObjectTagging"),
            Arg::Text("s3:PutObjectVersionTagging"),
            Arg::Text("s3:DeleteObjectTagging"),
            Arg::Text("s3:DeleteObjectVersionTagging"),
        ]),
    ),
    (
        "Resource",
        Arg::Format(
            "arn:{}:s3:::{}/*",
            &[Arg::Param("partition"), Arg::Param("bucket")],
        ),
    ),
    (
        "Condition",
        Arg::Obj(&[(
            "StringEquals",
            Arg::Obj(&[(QUARANTINE_CONDITION, Arg::Text("true"))]),
        )]),
    ),
];

/// The condition key on the quarantine tag ([`QUARANTINE_TAG`]; a test ties the two).
pub const QUARANTINE_CONDITION: &str = "s3:ExistingObjectTag/firebreak:quarantine";

const TAGGED: Cond = Cond::Is("before.mark", Lit::Text("true"));
const DENIED: Cond = Cond::HasStatement("before.policy", QUARANTINED);

/// `s3.quarantine_object`: the object tagged for quarantine and its bucket's policy denying
/// everyone reading what is so tagged; the object's other tags and the policy's statements
/// stay.
pub const QUARANTINE_OBJECT: Def = Def {
    // No read of the object itself: once it is quarantined, the deny stops firebreak's
    // `HeadObject` too (`s3:GetObject`), and a second run must still read what it needs. The
    // finding, in the evidence, has its ETag and the threat's hash.
    before: &[READ_TAGS, READ_POLICY],
    refuse: &[Refusal {
        when: Cond::Not(&Cond::PolicyText("before.policy")),
        code: "MalformedPolicy",
        message: "the policy of bucket {bucket} is not a JSON policy document; not changed",
    }],
    done_when: Cond::All(&[TAGGED, DENIED]),
    plan: "tag object {key} of bucket {bucket} firebreak:quarantine=true and deny reading objects so tagged in the bucket policy, keeping its statements",
    change: &[
        Ask::to(
            Op::S3PutObjectTagging,
            &[
                ("Bucket", Arg::Param("bucket")),
                ("Key", Arg::Param("key")),
                ("VersionId", Arg::IfGiven("version_id")),
                ("ExpectedBucketOwner", Arg::IfGiven("expected_owner")),
                (
                    "Tagging",
                    Arg::Obj(&[(
                        "TagSet",
                        Arg::WithItem(
                            "before.others",
                            &[
                                ("Key", Arg::Text(QUARANTINE_TAG)),
                                ("Value", Arg::Text("true")),
                            ],
                        ),
                    )]),
                ),
            ],
        )
        .only_when(Cond::Not(&TAGGED)),
        Ask::to(
            Op::S3PutBucketPolicy,
            &[
                ("Bucket", Arg::Param("bucket")),
                ("ExpectedBucketOwner", Arg::IfGiven("expected_owner")),
                ("Policy", Arg::WithStatement("before.policy", QUARANTINED)),
            ],
        )
        .only_when(Cond::Not(&DENIED)),
    ],
    // The deny does not cover reading tags: firebreak reads them back after it, and on a
    // second run.
    after: &[READ_TAGS, READ_POLICY],
    verified_when: Some(Cond::All(&[
        Cond::Is("after.mark", Lit::Text("true")),
        Cond::Same("before.others", "after.others"),
        Cond::HasStatement("after.policy", QUARANTINED),
        Cond::Keeps("before.policy", "after.policy"),
    ])),
    unverified: "object {key} of bucket {bucket} does not read back tagged for quarantine with its other tags, or the bucket policy without the deny or an earlier statement",
    outputs: &[],
};

/// Where `s3.copy_to_quarantine` puts its copy in the quarantine bucket: under the finding's
/// id, then the source bucket and key, so copies for different findings never meet.
const COPY_KEY: Arg = Arg::Format(
    "{}/{}/{}",
    &[
        Arg::Value(super::FINDING_ID),
        Arg::Param("bucket"),
        Arg::Param("key"),
    ],
);

/// The copy in the quarantine bucket (its current version).
const COPY: &[(&str, Arg)] = &[
    ("Bucket", Arg::Param("quarantine_bucket")),
    ("Key", COPY_KEY),
];

/// Whether the copy is there, and its version.
const READ_COPY: Ask = Ask::to(Op::S3GetObjectTagging, COPY)
    .absent_on(&["NoSuchKey"], Some("key does not exist"))
    .keeping(&[
        Pick::present("copied"),
        Pick::at("version", "VersionId", Lit::Text("")),
    ]);

/// The copy's legal hold (`ON`, `OFF`, or empty when it has none or is not there yet).
const READ_HOLD: Ask = Ask::to(Op::S3GetObjectLegalHold, COPY)
    .absent_on(
        &["NoSuchObjectLockConfiguration"],
        Some("does not have a ObjectLock configuration"),
    )
    .keeping(&[Pick::at("hold", "LegalHold.Status", Lit::Text(""))]);

/// `s3.copy_to_quarantine`: a copy of the object's version in a quarantine bucket with Object
/// Lock, under legal hold, so the evidence outlives whatever happens to the original. It must
/// run before `s3.quarantine_object`: the quarantine denies reading the object to everyone,
/// firebreak included (a playbook says `after:`).
pub const COPY_TO_QUARANTINE: Def = Def {
    before: &[
        Ask::to(
            Op::S3GetObjectLockConfiguration,
            &[("Bucket", Arg::Param("quarantine_bucket"))],
        )
        .absent_on(
            &["ObjectLockConfigurationNotFoundError"],
            Some("Object Lock configuration does not exist"),
        )
        .keeping(&[Pick::at(
            "locked",
            "ObjectLockConfiguration.ObjectLockEnabled",
            Lit::Text(""),
        )]),
        READ_COPY,
        READ_HOLD.only_when(Cond::Is("before.copied", Lit::Bool(true))),
        READ_TAGS,
    ],
    refuse: &[
        Refusal {
            when: Cond::Not(&Cond::Is("before.locked", Lit::Text("Enabled"))),
            code: "QuarantineBucketNotLocked",
            message: "bucket {quarantine_bucket} does not have Object Lock: a copy there cannot be put under legal hold; give a quarantine bucket made with Object Lock",
        },
        Refusal {
            when: Cond::All(&[
                Cond::Is("before.copied", Lit::Bool(false)),
                Cond::Is("before.mark", Lit::Text("true")),
            ]),
            code: "AlreadyQuarantined",
            message: "object {key} of bucket {bucket} is tagged for quarantine already, and the bucket policy denies reading it: copy it by hand, after lifting the quarantine statement for the copy",
        },
    ],
    done_when: Cond::Is("before.hold", Lit::Text("ON")),
    plan: "copy version {version_id} of object {key} of bucket {bucket} into bucket {quarantine_bucket} (under the finding id) and put the copy under legal hold",
    change: &[
        Ask::to(
            Op::S3CopyObject,
            &[
                ("Bucket", Arg::Param("quarantine_bucket")),
                ("Key", COPY_KEY),
                (
                    "CopySource",
                    Arg::Format(
                        "{}/{}?versionId={}",
                        &[
                            Arg::Param("bucket"),
                            Arg::Param("key"),
                            Arg::Param("version_id"),
                        ],
                    ),
                ),
                ("ExpectedSourceBucketOwner", Arg::IfGiven("expected_owner")),
                // The copy has none of the object's tags: copying them would need permission
                // to read them and write them; the quarantine step's evidence has them.
                ("TaggingDirective", Arg::Text("REPLACE")),
            ],
        )
        .only_when(Cond::Is("before.copied", Lit::Bool(false))),
        Ask::to(
            Op::S3PutObjectLegalHold,
            &[
                ("Bucket", Arg::Param("quarantine_bucket")),
                ("Key", COPY_KEY),
                ("LegalHold", Arg::Obj(&[("Status", Arg::Text("ON"))])),
            ],
        ),
    ],
    after: &[READ_COPY, READ_HOLD],
    verified_when: Some(Cond::All(&[
        Cond::Is("after.copied", Lit::Bool(true)),
        Cond::Is("after.hold", Lit::Text("ON")),
    ])),
    unverified: "the copy of object {key} in bucket {quarantine_bucket} does not read back under legal hold",
    outputs: &[("copy_version_id", "after.version")],
};
