//! EKS clusters in the step vocabulary: record a cluster (its API endpoint's access, its VPC,
//! how it authenticates IAM principals), take its API endpoint off the internet (opt-in), and
//! remove an IAM principal's access entry, which is what lets that principal into the cluster.
//!
//! Only AWS's APIs: what is inside the cluster (pods, RBAC, the `aws-auth` ConfigMap) is the
//! runbook's, for a person with `kubectl`.

use super::{Arg, Ask, Cond, Def, Lit, Op, Pick, Refusal, Where};

/// The cluster as EKS describes it.
const DESCRIBE: Ask = Ask::to(Op::EksDescribeCluster, &[("Name", Arg::Param("cluster"))]);

/// Whether the API endpoint answers from the internet (EKS's default for a new cluster).
const PUBLIC: Pick = Pick::at(
    "public",
    "Cluster.ResourcesVpcConfig.EndpointPublicAccess",
    Lit::Bool(true),
);

/// `eks.capture_cluster`: the cluster (its version, role, endpoint access, VPC, logging and
/// tags, in the evidence), and how it authenticates IAM principals: `CONFIG_MAP` (the
/// `aws-auth` ConfigMap, inside the cluster), `API` (access entries) or both.
pub const CAPTURE_CLUSTER: Def = Def::capture(
    &[DESCRIBE.keeping(&[
        Pick::member("arn", "Cluster.Arn"),
        Pick::at("status", "Cluster.Status", Lit::Text("")),
        Pick::at("vpc", "Cluster.ResourcesVpcConfig.VpcId", Lit::Text("")),
        PUBLIC,
        // A cluster made before access entries has no access configuration: the ConfigMap.
        Pick::at(
            "mode",
            "Cluster.AccessConfig.AuthenticationMode",
            Lit::Text("CONFIG_MAP"),
        ),
    ])],
    &[
        ("cluster_arn", "before.arn"),
        ("status", "before.status"),
        ("vpc_id", "before.vpc"),
        ("endpoint_public_access", "before.public"),
        ("authentication_mode", "before.mode"),
    ],
);

/// `eks.restrict_endpoint`: the cluster's API endpoint answers inside its VPC only (opt-in):
/// public access off, private access on, so that the nodes and whoever is in the VPC still
/// reach it. EKS applies the change in the background (minutes); the read-back waits for it.
pub const RESTRICT_ENDPOINT: Def = Def {
    before: &[DESCRIBE.keeping(&[PUBLIC])],
    refuse: &[],
    done_when: Cond::Is("before.public", Lit::Bool(false)),
    plan: "take the API endpoint of EKS cluster {cluster} off the internet (private access only)",
    // An update already under way (this one, from a run that stopped waiting, or another):
    // EKS refuses a second; the read-back waits for it instead.
    change: &[Ask::to(
        Op::EksUpdateClusterConfig,
        &[
            ("Name", Arg::Param("cluster")),
            (
                "ResourcesVpcConfig",
                Arg::Obj(&[
                    ("EndpointPublicAccess", Arg::Bool(false)),
                    ("EndpointPrivateAccess", Arg::Bool(true)),
                ]),
            ),
        ],
    )
    .absent_on(&["ResourceInUseException"], None)],
    after: &[DESCRIBE
        .keeping(&[PUBLIC])
        .until(Cond::Is("after.public", Lit::Bool(false)), "wait")],
    verified_when: Some(Cond::Is("after.public", Lit::Bool(false))),
    unverified: "the API endpoint of cluster {cluster} still reads back public",
    outputs: &[],
};

/// The principal's access entry: present or not.
const ENTRY: Ask = Ask::to(
    Op::EksDescribeAccessEntry,
    &[
        ("ClusterName", Arg::Param("cluster")),
        ("PrincipalArn", Arg::Param("principal_arn")),
    ],
)
.absent_on(&["ResourceNotFoundException"], None);

/// `eks.delete_access_entry`: the IAM principal's access entry deleted, with the access
/// policies associated with it: the principal's IAM credentials no longer let it into the
/// cluster (whatever the `aws-auth` ConfigMap says is the runbook's). The entry (its
/// Kubernetes groups and user name) is in the evidence.
pub const DELETE_ACCESS_ENTRY: Def = Def {
    // The cluster first: EKS answers a cluster it does not have as it answers an entry it does
    // not have (`ResourceNotFoundException`), and a missing cluster is a failure, not "no entry".
    before: &[
        DESCRIBE,
        ENTRY.keeping(&[
            Pick::present("entry"),
            Pick::at("username", "AccessEntry.Username", Lit::Text("")),
            Pick::at("type", "AccessEntry.Type", Lit::Text("STANDARD")),
        ]),
        // What the entry let the principal do: deleting the entry deletes them too, and they
        // are what a person gives back once the principal is clean.
        Ask::to(
            Op::EksListAssociatedAccessPolicies,
            &[
                ("ClusterName", Arg::Param("cluster")),
                ("PrincipalArn", Arg::Param("principal_arn")),
            ],
        )
        .only_when(Cond::Is("before.entry", Lit::Bool(true)))
        .keeping(&[
            Pick::each("policies", "AssociatedAccessPolicies[*].PolicyArn"),
            Pick::each("scopes", "AssociatedAccessPolicies[*].AccessScope"),
        ]),
    ],
    // A node's or Fargate's entry lets every node of that role into the cluster: deleting it
    // would take them all down. The node is contained as an instance instead.
    refuse: &[Refusal {
        when: Cond::All(&[
            Cond::Is("before.entry", Lit::Bool(true)),
            Cond::Not(&Cond::Is("before.type", Lit::Text("STANDARD"))),
        ]),
        code: "NodeAccessEntry",
        message: "the access entry of {principal_arn} in cluster {cluster} is a node or Fargate entry, not a user one: deleting it would cut every node with that role off the cluster; contain the node itself",
    }],
    done_when: Cond::Is("before.entry", Lit::Bool(false)),
    plan: "delete the access entry of {principal_arn} in EKS cluster {cluster}",
    change: &[Ask::to(
        Op::EksDeleteAccessEntry,
        &[
            ("ClusterName", Arg::Param("cluster")),
            ("PrincipalArn", Arg::Param("principal_arn")),
        ],
    )],
    after: &[ENTRY.keeping(&[Pick::present("entry")])],
    verified_when: Some(Cond::Is("after.entry", Lit::Bool(false))),
    unverified: "the access entry of {principal_arn} in cluster {cluster} still reads back",
    outputs: &[
        ("kubernetes_username", "before.username"),
        ("access_policy_arns", "before.policies"),
    ],
};

/// The service account's pod identity association (EKS allows one): its id, or `""`.
const ASSOCIATION: Ask = Ask::to(
    Op::EksListPodIdentityAssociations,
    &[
        ("ClusterName", Arg::Param("cluster")),
        ("Namespace", Arg::Param("namespace")),
        ("ServiceAccount", Arg::Param("service_account")),
    ],
);
const ASSOCIATION_ID: Where =
    Where::every("Associations", "AssociationId", &["AssociationId"], true);

/// `eks.delete_pod_identity_association`: the pod identity association of a service account
/// deleted, so that its pods get no more credentials of its IAM role (those already given stay
/// valid until they expire: the role's sessions are revoked by the next step). The role
/// (its name read from IAM, as its ARN may have a path) is the output, and the association in
/// the evidence.
pub const DELETE_POD_IDENTITY_ASSOCIATION: Def = Def {
    before: &[
        ASSOCIATION.keeping(&[Pick::selected("id", &ASSOCIATION_ID, Lit::Text(""))]),
        Ask::to(
            Op::EksDescribePodIdentityAssociation,
            &[
                ("ClusterName", Arg::Param("cluster")),
                ("AssociationId", Arg::Value("before.id")),
            ],
        )
        .only_when(Cond::Not(&Cond::Is("before.id", Lit::Text(""))))
        .keeping(&[Pick::at("role", "Association.RoleArn", Lit::Text(""))]),
        Ask::to(
            Op::IamGetRole,
            &[("RoleName", Arg::LastPart("before.role", "/"))],
        )
        .only_when(Cond::Not(&Cond::Is("before.role", Lit::Text(""))))
        .absent_on(&["NoSuchEntity"], None)
        .keeping(&[Pick::at("role_name", "Role.RoleName", Lit::Text(""))]),
    ],
    refuse: &[],
    done_when: Cond::Is("before.id", Lit::Text("")),
    plan: "delete the pod identity association of service account {namespace}/{service_account} in EKS cluster {cluster}",
    change: &[Ask::to(
        Op::EksDeletePodIdentityAssociation,
        &[
            ("ClusterName", Arg::Param("cluster")),
            ("AssociationId", Arg::Value("before.id")),
        ],
    )],
    after: &[ASSOCIATION.keeping(&[Pick::selected("id", &ASSOCIATION_ID, Lit::Text(""))])],
    verified_when: Some(Cond::Is("after.id", Lit::Text(""))),
    unverified: "service account {namespace}/{service_account} of cluster {cluster} still reads back with a pod identity association",
    outputs: &[
        ("role_arn", "before.role"),
        ("role_name", "before.role_name"),
    ],
};
