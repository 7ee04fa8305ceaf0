//! RDS databases in the step vocabulary: record the instance, snapshot it (or its Aurora
//! cluster), move it into its VPC's isolation group and take away its public address. Nothing
//! is deleted or stopped.
//!
//! RDS's error codes are named three ways: `DBSnapshotNotFound` on the wire (some with `Fault`,
//! which both engines drop: `DBClusterSnapshotNotFound`), `Rds.DbSnapshotNotFoundException` on
//! Step Functions, `rds.DBSnapshotNotFoundFaultException` on the emulator's; an "absent" read
//! lists each.

use super::{Arg, Ask, Cmp, Cond, Def, FINDING_ID, Lit, Op, Pick, Refusal, Where};
use crate::domain::catalog::names::PASSWORD_ROTATED_TAG;

const INSTANCE: &[(&str, Arg)] = &[("DBInstanceIdentifier", Arg::Param("db_instance_id"))];

/// The instance's VPC security groups with their status (`active`, `adding`, `removing`)
/// (one instance answers: the call names it).
const GROUPS: &str = "DBInstances[*].VpcSecurityGroups";

/// The groups of the instance other than the isolation group that are not on their way out.
const OTHERS: Where = Where {
    list: GROUPS,
    key: "VpcSecurityGroupId",
    is: Arg::Param("group_id"),
    cmp: Cmp::Ne,
    except: &[("Status", "removing")],
    take: &["VpcSecurityGroupId"],
    first: false,
};

/// The isolation group among the instance's groups (not on its way out).
const ISOLATED: Where = Where {
    cmp: Cmp::Eq,
    ..OTHERS
};

/// Every group of the instance.
const ALL: Where = Where {
    list: GROUPS,
    key: "VpcSecurityGroupId",
    is: Arg::Text(""),
    cmp: Cmp::All,
    except: &[],
    take: &["VpcSecurityGroupId"],
    first: false,
};

const READ_GROUPS: Ask = Ask::to(Op::RdsDescribeDbInstances, INSTANCE).keeping(&[
    Pick::selected("others", &OTHERS, Lit::EmptyList),
    Pick::selected("isolated", &ISOLATED, Lit::EmptyList),
]);

const ISOLATED_BEFORE: [Cond; 2] = [
    Cond::Empty("before.others"),
    Cond::Not(&Cond::Empty("before.isolated")),
];
const ISOLATED_AFTER: [Cond; 2] = [
    Cond::Empty("after.others"),
    Cond::Not(&Cond::Empty("after.isolated")),
];

/// `rds.isolate_db_instance`: the instance's VPC security groups replaced by the isolation
/// group, at once (`ApplyImmediately`); the old groups are the output. AWS shows the new group
/// `adding` and the old ones `removing` at once, which the read-back accepts.
pub const ISOLATE_DB_INSTANCE: Def = Def {
    before: &[Ask::to(Op::RdsDescribeDbInstances, INSTANCE).keeping(&[
        Pick::selected("others", &OTHERS, Lit::EmptyList),
        Pick::selected("isolated", &ISOLATED, Lit::EmptyList),
        Pick::selected("groups", &ALL, Lit::EmptyList),
    ])],
    refuse: &[],
    done_when: Cond::All(&ISOLATED_BEFORE),
    plan: "replace the security groups of database {db_instance_id} with the isolation group {group_id}",
    change: &[Ask::to(
        Op::RdsModifyDbInstance,
        &[
            ("DBInstanceIdentifier", Arg::Param("db_instance_id")),
            ("VpcSecurityGroupIds", Arg::ListOf("group_id")),
            ("ApplyImmediately", Arg::Bool(true)),
        ],
    )],
    after: &[READ_GROUPS],
    verified_when: Some(Cond::All(&ISOLATED_AFTER)),
    unverified: "database {db_instance_id} does not read back with only the isolation group {group_id}",
    outputs: &[("previous_security_group_ids", "before.groups")],
};

/// `rds.snapshot_db_instance`: a manual snapshot of the instance under the given name (one per
/// incident: a second run finds it). AWS makes it in the background; the read-back sees it
/// `creating`.
pub const SNAPSHOT_DB_INSTANCE: Def = Def {
    before: &[READ_SNAPSHOT],
    refuse: &[],
    done_when: Cond::Is("before.exists", Lit::Bool(true)),
    plan: "snapshot database {db_instance_id} as {snapshot_id}",
    change: &[Ask::to(
        Op::RdsCreateDbSnapshot,
        &[
            ("DBInstanceIdentifier", Arg::Param("db_instance_id")),
            ("DBSnapshotIdentifier", Arg::Param("snapshot_id")),
        ],
    )],
    after: &[READ_SNAPSHOT],
    verified_when: Some(Cond::Is("after.exists", Lit::Bool(true))),
    unverified: "snapshot {snapshot_id} of database {db_instance_id} does not read back",
    outputs: &[],
};

const READ_SNAPSHOT: Ask = Ask::to(
    Op::RdsDescribeDbSnapshots,
    &[("DBSnapshotIdentifier", Arg::Param("snapshot_id"))],
)
.absent_on(
    &[
        "DBSnapshotNotFound",
        "DbSnapshotNotFound",
        "DBSnapshotNotFoundFault",
    ],
    None,
)
.keeping(&[Pick::present("exists")]);

const READ_CLUSTER_SNAPSHOT: Ask = Ask::to(
    Op::RdsDescribeDbClusterSnapshots,
    &[("DBClusterSnapshotIdentifier", Arg::Param("snapshot_id"))],
)
.absent_on(
    &[
        "DBClusterSnapshotNotFound",
        "DbClusterSnapshotNotFound",
        "DBClusterSnapshotNotFoundFault",
    ],
    None,
)
.keeping(&[Pick::present("exists")]);

/// `rds.snapshot_db_cluster`: a manual snapshot of an Aurora cluster (whose instances cannot
/// be snapshotted alone) under the given name.
pub const SNAPSHOT_DB_CLUSTER: Def = Def {
    before: &[READ_CLUSTER_SNAPSHOT],
    refuse: &[],
    done_when: Cond::Is("before.exists", Lit::Bool(true)),
    plan: "snapshot database cluster {db_cluster_id} as {snapshot_id}",
    change: &[Ask::to(
        Op::RdsCreateDbClusterSnapshot,
        &[
            ("DBClusterIdentifier", Arg::Param("db_cluster_id")),
            ("DBClusterSnapshotIdentifier", Arg::Param("snapshot_id")),
        ],
    )],
    after: &[READ_CLUSTER_SNAPSHOT],
    verified_when: Some(Cond::Is("after.exists", Lit::Bool(true))),
    unverified: "snapshot {snapshot_id} of database cluster {db_cluster_id} does not read back",
    outputs: &[],
};

/// `rds.capture_db_instance`: the instance's state, engine, master user, VPC, public
/// accessibility and security groups.
pub const CAPTURE_DB_INSTANCE: Def = Def::capture(
    &[Ask::to(Op::RdsDescribeDbInstances, INSTANCE).keeping(&[
        Pick::first("arn", "DBInstances[*].DBInstanceArn"),
        Pick::first("status", "DBInstances[*].DBInstanceStatus"),
        Pick::first("engine", "DBInstances[*].Engine"),
        Pick::first("public", "DBInstances[*].PubliclyAccessible"),
        Pick::first("master", "DBInstances[*].MasterUsername"),
        Pick::first("vpc", "DBInstances[*].DBSubnetGroup.VpcId"),
        Pick::selected("groups", &ALL, Lit::EmptyList),
    ])],
    &[
        ("db_instance_arn", "before.arn"),
        ("status", "before.status"),
        ("publicly_accessible", "before.public"),
        ("master_username", "before.master"),
        ("vpc_id", "before.vpc"),
        ("security_group_ids", "before.groups"),
    ],
);

const READ_PUBLIC: Ask = Ask::to(Op::RdsDescribeDbInstances, INSTANCE)
    .keeping(&[Pick::first("public", "DBInstances[*].PubliclyAccessible")]);

/// `rds.make_db_instance_private`: the instance no longer publicly accessible (its DNS name
/// resolves to its private address only). AWS applies this change at once whatever
/// `ApplyImmediately` says, so the call leaves `ApplyImmediately` out: it would also apply
/// every change someone left pending for the maintenance window. The read-back waits until
/// the instance reads back private (unless `wait` is false); the step's timeout bounds it.
pub const MAKE_DB_INSTANCE_PRIVATE: Def = Def {
    before: &[READ_PUBLIC],
    refuse: &[],
    done_when: Cond::Is("before.public", Lit::Bool(false)),
    plan: "make database {db_instance_id} not publicly accessible",
    change: &[Ask::to(
        Op::RdsModifyDbInstance,
        &[
            ("DBInstanceIdentifier", Arg::Param("db_instance_id")),
            ("PubliclyAccessible", Arg::Bool(false)),
        ],
    )],
    after: &[READ_PUBLIC.until(Cond::Is("after.public", Lit::Bool(false)), "wait")],
    verified_when: Some(Cond::Is("after.public", Lit::Bool(false))),
    unverified: "database {db_instance_id} still reads back publicly accessible",
    outputs: &[("was_publicly_accessible", "before.public")],
};

const CLUSTER: &[(&str, Arg)] = &[("DBClusterIdentifier", Arg::Param("db_cluster_id"))];

/// The cluster's groups other than the isolation group that are not on their way out.
const CLUSTER_OTHERS: Where = Where {
    list: "DBClusters[*].VpcSecurityGroups",
    ..OTHERS
};
const CLUSTER_ISOLATED: Where = Where {
    cmp: Cmp::Eq,
    ..CLUSTER_OTHERS
};
const CLUSTER_ALL: Where = Where {
    list: "DBClusters[*].VpcSecurityGroups",
    ..ALL
};

const READ_CLUSTER_GROUPS: Ask = Ask::to(Op::RdsDescribeDbClusters, CLUSTER).keeping(&[
    Pick::selected("others", &CLUSTER_OTHERS, Lit::EmptyList),
    Pick::selected("isolated", &CLUSTER_ISOLATED, Lit::EmptyList),
]);

/// `rds.isolate_db_cluster`: an Aurora cluster's VPC security groups (which its instances
/// use) replaced by the isolation group, at once; the old groups are the output.
pub const ISOLATE_DB_CLUSTER: Def = Def {
    before: &[Ask::to(Op::RdsDescribeDbClusters, CLUSTER).keeping(&[
        Pick::selected("others", &CLUSTER_OTHERS, Lit::EmptyList),
        Pick::selected("isolated", &CLUSTER_ISOLATED, Lit::EmptyList),
        Pick::selected("groups", &CLUSTER_ALL, Lit::EmptyList),
    ])],
    refuse: &[],
    done_when: Cond::All(&ISOLATED_BEFORE),
    plan: "replace the security groups of database cluster {db_cluster_id} with the isolation group {group_id}",
    change: &[Ask::to(
        Op::RdsModifyDbCluster,
        &[
            ("DBClusterIdentifier", Arg::Param("db_cluster_id")),
            ("VpcSecurityGroupIds", Arg::ListOf("group_id")),
            ("ApplyImmediately", Arg::Bool(true)),
        ],
    )],
    after: &[READ_CLUSTER_GROUPS],
    verified_when: Some(Cond::All(&ISOLATED_AFTER)),
    unverified: "database cluster {db_cluster_id} does not read back with only the isolation group {group_id}",
    outputs: &[("previous_security_group_ids", "before.groups")],
};

/// A member of the instance (the call names one: the first), or `""`.
const fn instance_member(m: &'static [&'static str]) -> Where {
    Where::every("DBInstances", "DBInstanceIdentifier", m, true)
}
const SECRET: Where = instance_member(&["MasterUserSecret.SecretArn"]);
const ITS_CLUSTER: Where = instance_member(&["DBClusterIdentifier"]);
/// The finding the master password was last replaced for (the tag's value).
const ROTATED_FOR: Where = Where {
    list: "TagList",
    key: "Key",
    is: Arg::Text(PASSWORD_ROTATED_TAG),
    cmp: Cmp::Eq,
    except: &[],
    take: &["Value"],
    first: true,
};

/// The instance's ARN, its password's secret (`""`: not managed), its Aurora cluster (`""`:
/// none) and the finding its password was last replaced for.
const READ_PASSWORD: Ask = Ask::to(Op::RdsDescribeDbInstances, INSTANCE).keeping(&[
    Pick::first("arn", "DBInstances[*].DBInstanceArn"),
    Pick::selected("secret", &SECRET, Lit::Text("")),
    Pick::selected("cluster", &ITS_CLUSTER, Lit::Text("")),
]);

/// The instance's tags (by the ARN read first: made after it, not beside it): the finding its
/// password was last replaced for.
const READ_ROTATED: Ask = Ask::to(
    Op::RdsListTagsForResource,
    &[("ResourceName", Arg::Value("before.arn"))],
)
.only_when(Cond::Not(&Cond::Is("before.arn", Lit::Text(""))))
.keeping(&[Pick::selected("rotated_for", &ROTATED_FOR, Lit::Text(""))]);

const MANAGED_BEFORE: Cond = Cond::Not(&Cond::Is("before.secret", Lit::Text("")));

/// The database (instance or cluster, `before.arn`) tagged with the finding its master
/// password was replaced for.
const TAG_ROTATED: Ask = Ask::to(
    Op::RdsAddTagsToResource,
    &[
        ("ResourceName", Arg::Value("before.arn")),
        (
            "Tags",
            Arg::List(&[Arg::Obj(&[
                ("Key", Arg::Text(PASSWORD_ROTATED_TAG)),
                ("Value", Arg::Value(FINDING_ID)),
            ])]),
        ),
    ],
);

/// The master password has a secret after the change, and the tag names this finding.
const ROTATED_AFTER: Cond = Cond::All(&[
    Cond::Same("after.rotated_for", FINDING_ID),
    Cond::Not(&Cond::Is("after.secret", Lit::Text(""))),
]);

/// `rds.rotate_master_password`: the instance's master password replaced by a new random one
/// that Secrets Manager keeps (opt-in), so that a leaked one no longer logs in and nobody,
/// firebreak included, sees the new one: `ManageMasterUserPassword` for an instance whose
/// password is its own, `RotateMasterUserPassword` for one Secrets Manager already manages
/// (which RDS takes only with `ApplyImmediately`: the changes pending for the maintenance
/// window apply too). The instance is then tagged with the finding, and a second run for the
/// same finding changes nothing. An Aurora instance's password is its cluster's: refused.
pub const ROTATE_MASTER_PASSWORD: Def = Def {
    before: &[READ_PASSWORD, READ_ROTATED],
    refuse: &[Refusal {
        when: Cond::Not(&Cond::Is("before.cluster", Lit::Text(""))),
        code: "AuroraInstance",
        message: "database {db_instance_id} is an Aurora instance: its master password belongs to its cluster; rotate it there (`aws rds modify-db-cluster --manage-master-user-password`, or `--rotate-master-user-password --apply-immediately`)",
    }],
    done_when: Cond::Same("before.rotated_for", FINDING_ID),
    plan: "replace the master password of database {db_instance_id} with a new one kept in Secrets Manager",
    change: &[
        Ask::to(
            Op::RdsModifyDbInstance,
            &[
                ("DBInstanceIdentifier", Arg::Param("db_instance_id")),
                ("ManageMasterUserPassword", Arg::Bool(true)),
            ],
        )
        .only_when(Cond::Is("before.secret", Lit::Text(""))),
        Ask::to(
            Op::RdsModifyDbInstance,
            &[
                ("DBInstanceIdentifier", Arg::Param("db_instance_id")),
                ("RotateMasterUserPassword", Arg::Bool(true)),
                ("ApplyImmediately", Arg::Bool(true)),
            ],
        )
        .only_when(MANAGED_BEFORE),
        TAG_ROTATED,
    ],
    // RDS makes the secret in the background: read back until the instance names it.
    after: &[
        READ_PASSWORD.until(Cond::Not(&Cond::Is("after.secret", Lit::Text(""))), "wait"),
        READ_ROTATED,
    ],
    verified_when: Some(ROTATED_AFTER),
    unverified: "database {db_instance_id} does not read back with its master password in Secrets Manager",
    outputs: &[("secret_arn", "after.secret")],
};

/// The cluster's ARN and its master password's secret (`""`: not managed).
const READ_CLUSTER_PASSWORD: Ask = Ask::to(Op::RdsDescribeDbClusters, CLUSTER).keeping(&[
    Pick::first("arn", "DBClusters[*].DBClusterArn"),
    Pick::selected(
        "secret",
        &Where::every(
            "DBClusters",
            "DBClusterIdentifier",
            &["MasterUserSecret.SecretArn"],
            true,
        ),
        Lit::Text(""),
    ),
]);

/// `rds.rotate_cluster_master_password`: [`ROTATE_MASTER_PASSWORD`] for an Aurora cluster,
/// whose instances' master password is its own (`ModifyDBCluster`; the cluster is tagged).
pub const ROTATE_CLUSTER_MASTER_PASSWORD: Def = Def {
    before: &[READ_CLUSTER_PASSWORD, READ_ROTATED],
    refuse: &[],
    done_when: Cond::Same("before.rotated_for", FINDING_ID),
    plan: "replace the master password of database cluster {db_cluster_id} with a new one kept in Secrets Manager",
    change: &[
        Ask::to(
            Op::RdsModifyDbCluster,
            &[
                ("DBClusterIdentifier", Arg::Param("db_cluster_id")),
                ("ManageMasterUserPassword", Arg::Bool(true)),
            ],
        )
        .only_when(Cond::Is("before.secret", Lit::Text(""))),
        Ask::to(
            Op::RdsModifyDbCluster,
            &[
                ("DBClusterIdentifier", Arg::Param("db_cluster_id")),
                ("RotateMasterUserPassword", Arg::Bool(true)),
                ("ApplyImmediately", Arg::Bool(true)),
            ],
        )
        .only_when(MANAGED_BEFORE),
        TAG_ROTATED,
    ],
    after: &[
        READ_CLUSTER_PASSWORD.until(Cond::Not(&Cond::Is("after.secret", Lit::Text(""))), "wait"),
        READ_ROTATED,
    ],
    verified_when: Some(ROTATED_AFTER),
    unverified: "database cluster {db_cluster_id} does not read back with its master password in Secrets Manager",
    outputs: &[("secret_arn", "after.secret")],
};
