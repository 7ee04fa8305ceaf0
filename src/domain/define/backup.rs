//! AWS Backup recovery points with malware in the step vocabulary: record the recovery point,
//! and keep anyone from restoring it, copying it, deleting it or shortening its life through
//! its vault's access policy. The recovery point is the evidence: nothing deletes it.

use super::{Arg, Ask, Cond, Def, FINDING_ID, Lit, Op, Pick, Refusal};

/// The recovery point in its vault.
const POINT: &[(&str, Arg)] = &[
    ("BackupVaultName", Arg::Param("vault")),
    ("RecoveryPointArn", Arg::Param("recovery_point_arn")),
];

/// The recovery point as AWS Backup describes it: the step fails when it has none.
const READ_POINT: Ask = Ask::to(Op::BackupDescribeRecoveryPoint, POINT).keeping(&[
    Pick::at("resource", "ResourceArn", Lit::Text("")),
    Pick::at("type", "ResourceType", Lit::Text("")),
    Pick::at("status", "Status", Lit::Text("")),
]);

/// The vault's access policy (JSON text), null when it has none.
const READ_POLICY: Ask = Ask::to(
    Op::BackupGetBackupVaultAccessPolicy,
    &[("BackupVaultName", Arg::Param("vault"))],
)
.absent_on(&["ResourceNotFoundException"], None)
.keeping(&[Pick::at("policy", "Policy", Lit::Null)]);

/// `backup.capture_recovery_point`: the recovery point (what it backs up, its type, its status
/// and lifecycle, in the evidence) and its vault's access policy.
pub const CAPTURE_RECOVERY_POINT: Def = Def::capture(
    &[READ_POINT, READ_POLICY],
    &[
        ("resource_arn", "before.resource"),
        ("resource_type", "before.type"),
        ("status", "before.status"),
    ],
);

/// The statement `backup.quarantine_recovery_point` adds to the vault's access policy, one for
/// the recovery point: nobody restores it, copies it, deletes it or changes its lifecycle
/// through AWS Backup. (AWS Backup takes no wildcard in a vault policy's actions.)
const QUARANTINED: &[(&str, Arg)] = &[
    ("Effect", Arg::Text("Deny")),
    ("Principal", Arg::Obj(&[("AWS", Arg::Text("*"))])),
    (
        "Action",
        Arg::List(&[
            Arg::Text("backup:DeleteRecoveryPoint"),
            Arg::Text("backup:StartCopyJob"),
            Arg::Text("backup:StartRestoreJob"),
            Arg::Text("backup:UpdateRecoveryPointLifecycle"),
        ]),
    ),
    ("Resource", Arg::Param("recovery_point_arn")),
];

/// `backup.quarantine_recovery_point`: the vault's access policy gains [`QUARANTINED`] for the
/// recovery point; every statement it had stays.
pub const QUARANTINE_RECOVERY_POINT: Def = Def {
    before: &[READ_POINT, READ_POLICY],
    refuse: &[Refusal {
        when: Cond::Not(&Cond::PolicyText("before.policy")),
        code: "MalformedPolicy",
        message: "the access policy of backup vault {vault} is not a JSON policy document; not changed",
    }],
    done_when: Cond::HasStatement("before.policy", QUARANTINED),
    plan: "deny restoring, copying, deleting and changing the lifecycle of recovery point {recovery_point_arn} in the access policy of backup vault {vault}, keeping its statements",
    change: &[Ask::to(
        Op::BackupPutBackupVaultAccessPolicy,
        &[
            ("BackupVaultName", Arg::Param("vault")),
            ("Policy", Arg::WithStatement("before.policy", QUARANTINED)),
        ],
    )],
    after: &[READ_POLICY],
    verified_when: Some(Cond::All(&[
        Cond::HasStatement("after.policy", QUARANTINED),
        Cond::Keeps("before.policy", "after.policy"),
    ])),
    unverified: "the access policy of backup vault {vault} does not read back with the quarantine of recovery point {recovery_point_arn}, or without an earlier statement",
    outputs: &[],
};

/// The recovery point's tags that say it is quarantined, and for which finding.
const READ_TAGS: Ask = Ask::to(
    Op::BackupListTags,
    &[("ResourceArn", Arg::Param("recovery_point_arn"))],
)
.keeping(&[
    Pick::at("mark", "Tags.firebreak:quarantine", Lit::Text("")),
    Pick::at("finding", "Tags.firebreak:finding-id", Lit::Text("")),
]);

/// `backup.tag_recovery_point`: the recovery point (AWS Backup's own ARN) tagged
/// `firebreak:quarantine=malware` and with the finding's id; its other tags stay. (An EBS
/// snapshot's or AMI's recovery point is tagged through EC2.)
pub const TAG_RECOVERY_POINT: Def = Def {
    before: &[READ_POINT, READ_TAGS],
    refuse: &[],
    done_when: Cond::All(&[
        Cond::Is("before.mark", Lit::Text("malware")),
        Cond::Same("before.finding", FINDING_ID),
    ]),
    plan: "tag recovery point {recovery_point_arn} firebreak:quarantine=malware, with the finding id",
    change: &[Ask::to(
        Op::BackupTagResource,
        &[
            ("ResourceArn", Arg::Param("recovery_point_arn")),
            (
                "Tags",
                Arg::Obj(&[
                    ("firebreak:quarantine", Arg::Text("malware")),
                    ("firebreak:finding-id", Arg::Value(FINDING_ID)),
                ]),
            ),
        ],
    )],
    after: &[READ_TAGS],
    verified_when: Some(Cond::All(&[
        Cond::Is("after.mark", Lit::Text("malware")),
        Cond::Same("after.finding", FINDING_ID),
    ])),
    unverified: "recovery point {recovery_point_arn} does not read back tagged for quarantine",
    outputs: &[],
};
