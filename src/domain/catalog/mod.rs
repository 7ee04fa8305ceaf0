//! The action catalog: the closed set of things a playbook step can do, each with its typed
//! parameters, typed outputs, the IAM permissions it needs and whether it changes anything.
//! Adding an action to [`Action`] makes the compiler point at every place that must handle it.

mod backup;
mod ecs;
mod eks;
mod rds;
mod s3;
mod specs;

use std::fmt;

use serde::Serialize;

/// The type of a parameter or an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    String,
    Integer,
    Boolean,
    StringList,
    /// A mapping of text to text (tags).
    StringMap,
}

impl Type {
    pub fn describe(self) -> &'static str {
        match self {
            Type::String => "text",
            Type::Integer => "an integer",
            Type::Boolean => "a boolean",
            Type::StringList => "a list of text",
            Type::StringMap => "a mapping of text to text",
        }
    }

    /// Converts a JSON value to this type where that loses nothing (a number where text is
    /// expected becomes its decimal text; one text where a list is expected becomes a list of
    /// one). `None` when the value does not fit.
    pub fn coerce(self, v: &serde_json::Value) -> Option<serde_json::Value> {
        use serde_json::Value as J;
        match (self, v) {
            (Type::String, J::String(_)) => Some(v.clone()),
            (Type::String, J::Number(n)) => Some(J::String(n.to_string())),
            (Type::String, J::Bool(b)) => Some(J::String(b.to_string())),
            (Type::Integer, J::Number(n)) if n.is_i64() || n.is_u64() => Some(v.clone()),
            (Type::Integer, J::String(s)) => s.trim().parse::<i64>().ok().map(J::from),
            (Type::Boolean, J::Bool(_)) => Some(v.clone()),
            (Type::Boolean, J::String(s)) if s == "true" || s == "false" => {
                Some(J::Bool(s == "true"))
            }
            (Type::StringList, J::Array(items)) => items
                .iter()
                .map(|i| Type::String.coerce(i))
                .collect::<Option<Vec<_>>>()
                .map(J::Array),
            (Type::StringList, J::String(_)) => Some(J::Array(vec![v.clone()])),
            (Type::StringMap, J::Object(m)) => m
                .iter()
                .map(|(k, v)| Type::String.coerce(v).map(|v| (k.clone(), v)))
                .collect::<Option<serde_json::Map<_, _>>>()
                .map(J::Object),
            _ => None,
        }
    }
}

/// One parameter of an action (`with:` key).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Param {
    pub name: &'static str,
    pub ty: Type,
    pub required: bool,
    /// The default, as JSON text, for optional parameters that have one.
    pub default: Option<&'static str>,
    pub doc: &'static str,
    /// The most characters the AWS API takes (an SNS subject: 100). A longer value known when
    /// the plan is made is cut to it there, so both engines send the same text; one that comes
    /// from an earlier step's output is sent whole, and AWS refuses it on both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<usize>,
}

impl Param {
    /// The parameter, with at most `n` characters.
    pub const fn at_most(self, n: usize) -> Param {
        Param {
            max_chars: Some(n),
            ..self
        }
    }

    /// `v` cut to the parameter's length (text only).
    pub fn fit(&self, v: serde_json::Value) -> serde_json::Value {
        match (self.max_chars, v) {
            (Some(n), serde_json::Value::String(s)) if s.chars().count() > n => {
                serde_json::Value::String(s.chars().take(n).collect())
            }
            (_, v) => v,
        }
    }
}

/// One output of an action, readable as `${{ steps.<id>.outputs.<name> }}`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Output {
    pub name: &'static str,
    pub ty: Type,
    pub doc: &'static str,
}

/// What an action does to the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Reads state for evidence; changes nothing.
    Capture,
    /// Changes AWS to contain the incident. Time-to-contain ends when the last of these is verified.
    Contain,
    /// Tells people (SNS, webhook); changes no resource.
    Notify,
}

/// Everything the rest of firebreak knows about an action.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub doc: &'static str,
    /// How a person undoes what the action changed (empty: it changes nothing), for the
    /// incident's ticket; `{name}` is the step's output or parameter of that name.
    pub undo: &'static str,
    pub effect: Effect,
    pub params: &'static [Param],
    pub outputs: &'static [Output],
    /// Tags the action always sets on what it makes, before the playbook's `tags` (which
    /// cannot replace them), on both engines.
    pub fixed_tags: &'static [(&'static str, Fixed)],
    /// How both engines carry the action out, and so its permissions.
    pub how: How,
}

/// How an action is carried out.
#[derive(Debug, Clone, Copy)]
pub enum How {
    /// Defined once in the step vocabulary, which both engines run: its permissions, the ones
    /// only one engine needs and the outputs a state machine cannot give all follow from it.
    Defined(&'static crate::domain::define::Def),
    /// Written for each engine (`crate::engine::local`, `crate::engine::asl::actions`), which
    /// state what they need and what differs.
    Hand {
        /// Which of the written actions it is: each engine's dispatch matches on it.
        written: Written,
        /// IAM actions the responder role needs for this action (on either engine; see
        /// [`Action::permissions`] for one).
        permissions: &'static [&'static str],
        /// Permissions of `permissions` that only one engine's implementation calls
        /// (everything else both call): the two reach the same end by slightly different calls.
        engine_only: &'static [(&'static str, Engine)],
        /// Outputs a compiled state machine cannot give (they are null there); a playbook that
        /// reads one is refused by the ASL compiler.
        sfn_unavailable: &'static [&'static str],
    },
}

/// The actions written for each engine, not (yet) defined in the step vocabulary; each engine
/// has one function per variant, and the compiler points at both when one is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// `ec2.isolate_instance`: two moves with a way back (the transition group first).
    IsolateInstance,
}

impl Spec {
    /// The action's definition in the step vocabulary; `None` for one written for each engine.
    pub fn definition(&self) -> Option<&'static crate::domain::define::Def> {
        match self.how {
            How::Defined(def) => Some(def),
            How::Hand { .. } => None,
        }
    }

    /// IAM actions the responder role needs for this action, on either engine.
    pub fn permissions(&self) -> Vec<&'static str> {
        match self.how {
            How::Defined(def) => def.permissions(),
            How::Hand { permissions, .. } => permissions.to_vec(),
        }
    }

    /// The permissions this action needs only on a condition (see
    /// [`crate::domain::define::Def::conditions`]).
    pub fn conditions(&self) -> Vec<crate::domain::define::Narrowed> {
        match self.how {
            How::Defined(def) => def.conditions(),
            How::Hand { .. } => Vec::new(),
        }
    }

    /// The permissions only one engine needs, with that engine.
    pub fn engine_only(&self) -> Vec<(&'static str, Engine)> {
        match self.how {
            How::Defined(def) => def.engine_only(),
            How::Hand { engine_only, .. } => engine_only.to_vec(),
        }
    }

    /// The outputs a compiled state machine cannot give.
    pub fn sfn_unavailable(&self) -> Vec<&'static str> {
        match self.how {
            How::Defined(def) => def.sfn_unavailable(),
            How::Hand {
                sfn_unavailable, ..
            } => sfn_unavailable.to_vec(),
        }
    }
}

/// The catalog entry as `firebreak actions --output json` gives it.
impl Serialize for Spec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Entry<'a> {
            name: &'a str,
            doc: &'a str,
            effect: Effect,
            permissions: Vec<&'a str>,
            params: &'a [Param],
            outputs: &'a [Output],
            engine_only: Vec<(&'a str, Engine)>,
            sfn_unavailable: Vec<&'a str>,
            fixed_tags: &'a [(&'a str, Fixed)],
        }
        Entry {
            name: self.name,
            doc: self.doc,
            effect: self.effect,
            permissions: self.permissions(),
            params: self.params,
            outputs: self.outputs,
            engine_only: self.engine_only(),
            sfn_unavailable: self.sfn_unavailable(),
            fixed_tags: self.fixed_tags,
        }
        .serialize(s)
    }
}

/// The value of a fixed tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fixed {
    FindingId,
    ExecutionId,
    /// The step's `instance_id` parameter.
    InstanceId,
}

/// The error code of a read-back that does not show the change (both engines).
pub const VERIFY_FAILED: &str = "VerifyFailed";

/// Names firebreak writes into AWS, shared by both engines (and the defaults of the actions'
/// parameters, checked by a test).
pub mod names {
    /// `iam.deny_all_user`'s policy: AWS's managed `AWSDenyAll` (deny every action on every
    /// resource), the one policy the responder may attach.
    pub const DENY_ALL_ARN: &str = "arn:aws:iam::aws:policy/AWSDenyAll";
    /// `iam.revoke_role_sessions`' inline policy (the console's name) and statement.
    pub const REVOKE_POLICY: &str = "AWSRevokeOlderSessions";
    pub const REVOKE_SID: &str = "FirebreakRevokeOlderSessions";
    /// `ec2.isolate_instance`'s groups.
    pub const ISOLATION_GROUP: &str = "firebreak-isolation";
    pub const TRANSITION_GROUP: &str = "firebreak-isolation-transition";
    /// The tag firebreak gives its security groups when it creates them (and only then): the
    /// responder may write rules only in groups that carry it.
    pub const PURPOSE_TAG: &str = "firebreak:purpose";
    pub const PURPOSE_ISOLATION: &str = "isolation";
    /// The tag `s3.quarantine_object` gives an object (value `true`), on which its bucket
    /// policy statement denies reading.
    pub const QUARANTINE_TAG: &str = "firebreak:quarantine";
    /// The tag `rds.rotate_master_password` gives a database: the finding its master password
    /// was last replaced for (its value), so that a second run replaces it no more.
    pub const PASSWORD_ROTATED_TAG: &str = "firebreak:password-rotated-for";
}

impl Spec {
    /// True when the action changes state (containment or notification): dry runs plan it instead.
    pub fn mutates(&self) -> bool {
        self.effect != Effect::Capture
    }

    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params.iter().find(|p| p.name == name)
    }

    pub fn output(&self, name: &str) -> Option<&'static Output> {
        self.outputs.iter().find(|o| o.name == name)
    }
}

/// Every action a step can name, as `service.verb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    IamCaptureUser,
    IamCaptureRole,
    IamDeactivateAccessKey,
    IamDenyAllUser,
    IamDeleteLoginProfile,
    IamDeactivateMfaDevices,
    IamRevokeRoleSessions,
    Ec2CaptureInstance,
    Ec2PreserveInstance,
    Ec2SnapshotVolumes,
    AutoscalingDetachInstance,
    Elbv2DeregisterInstance,
    Ec2DisassociateInstanceProfile,
    Ec2IsolateInstance,
    Ec2TagInstance,
    Ec2StopInstance,
    Ec2CaptureSnapshot,
    Ec2MakeSnapshotPrivate,
    Ec2TagSnapshot,
    Ec2CaptureImage,
    Ec2MakeImagePrivate,
    Ec2TagImage,
    LambdaCaptureFunction,
    LambdaThrottleFunction,
    LambdaDisableEventSourceMappings,
    LambdaRestrictFunctionUrl,
    LambdaRemovePublicPermissions,
    Ec2CreateIsolationGroup,
    Ec2CaptureIsolationGroup,
    RdsCaptureDbInstance,
    RdsSnapshotDbInstance,
    RdsSnapshotDbCluster,
    RdsIsolateDbInstance,
    RdsIsolateDbCluster,
    RdsMakeDbInstancePrivate,
    RdsRotateMasterPassword,
    RdsRotateClusterMasterPassword,
    EcsCaptureTask,
    EcsProtectTask,
    EcsStopTask,
    EcsIsolateService,
    EcsScaleServiceToZero,
    EksCaptureCluster,
    EksRestrictEndpoint,
    EksDeleteAccessEntry,
    EksDeletePodIdentityAssociation,
    BackupCaptureRecoveryPoint,
    BackupQuarantineRecoveryPoint,
    BackupTagRecoveryPoint,
    S3CaptureBucket,
    S3BlockPublicAccess,
    S3DenyPrincipal,
    S3EnableVersioning,
    S3QuarantineObject,
    S3CopyToQuarantine,
    SnsPublish,
    HttpWebhook,
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.spec().name)
    }
}

impl schemars::JsonSchema for Action {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Action".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Action::ALL.iter().map(|a| a.spec().name).collect();
        schemars::json_schema!({"type": "string", "enum": names, "description": "A catalog action, `service.verb`."})
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.spec().name)
    }
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::IamCaptureUser,
        Action::IamCaptureRole,
        Action::IamDeactivateAccessKey,
        Action::IamDenyAllUser,
        Action::IamDeleteLoginProfile,
        Action::IamDeactivateMfaDevices,
        Action::IamRevokeRoleSessions,
        Action::Ec2CaptureInstance,
        Action::Ec2PreserveInstance,
        Action::Ec2SnapshotVolumes,
        Action::AutoscalingDetachInstance,
        Action::Elbv2DeregisterInstance,
        Action::Ec2DisassociateInstanceProfile,
        Action::Ec2IsolateInstance,
        Action::Ec2TagInstance,
        Action::Ec2StopInstance,
        Action::Ec2CaptureSnapshot,
        Action::Ec2MakeSnapshotPrivate,
        Action::Ec2TagSnapshot,
        Action::Ec2CaptureImage,
        Action::Ec2MakeImagePrivate,
        Action::Ec2TagImage,
        Action::LambdaCaptureFunction,
        Action::LambdaThrottleFunction,
        Action::LambdaDisableEventSourceMappings,
        Action::LambdaRestrictFunctionUrl,
        Action::LambdaRemovePublicPermissions,
        Action::Ec2CreateIsolationGroup,
        Action::Ec2CaptureIsolationGroup,
        Action::RdsCaptureDbInstance,
        Action::RdsSnapshotDbInstance,
        Action::RdsSnapshotDbCluster,
        Action::RdsIsolateDbInstance,
        Action::RdsIsolateDbCluster,
        Action::RdsMakeDbInstancePrivate,
        Action::RdsRotateMasterPassword,
        Action::RdsRotateClusterMasterPassword,
        Action::EcsCaptureTask,
        Action::EcsProtectTask,
        Action::EcsStopTask,
        Action::EcsIsolateService,
        Action::EcsScaleServiceToZero,
        Action::EksCaptureCluster,
        Action::EksRestrictEndpoint,
        Action::EksDeleteAccessEntry,
        Action::EksDeletePodIdentityAssociation,
        Action::BackupCaptureRecoveryPoint,
        Action::BackupQuarantineRecoveryPoint,
        Action::BackupTagRecoveryPoint,
        Action::S3CaptureBucket,
        Action::S3BlockPublicAccess,
        Action::S3DenyPrincipal,
        Action::S3EnableVersioning,
        Action::S3QuarantineObject,
        Action::S3CopyToQuarantine,
        Action::SnsPublish,
        Action::HttpWebhook,
    ];

    /// The action's definition in the step vocabulary, which both engines run; `None` for the
    /// actions still written for each engine (`crate::engine::local` and `crate::engine::asl::actions`).
    pub fn definition(self) -> Option<&'static crate::domain::define::Def> {
        self.spec().definition()
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.spec().name == name)
    }
}

/// Which implementation of the actions runs (they reach the same end by slightly different
/// calls, so a few permissions belong to one of them only).
pub use crate::domain::define::Engine;

impl Action {
    /// The IAM actions this action needs when `engine` runs it.
    pub fn permissions(self, engine: Engine) -> impl Iterator<Item = &'static str> {
        let spec = self.spec();
        let only = spec.engine_only();
        spec.permissions().into_iter().filter(move |p| {
            only.iter()
                .find(|(q, _)| q == p)
                .is_none_or(|(_, e)| *e == engine)
        })
    }

    /// The one engine that needs `permission` for this action, when only one does.
    pub fn engine_only(self, permission: &str) -> Option<Engine> {
        self.spec()
            .engine_only()
            .into_iter()
            .find(|(p, _)| *p == permission)
            .map(|(_, e)| e)
    }
}

/// The IAM action an API call needs: `service:Operation` for nearly every call; the few
/// whose IAM name differs from the operation are mapped (`s3` `GetPublicAccessBlock` →
/// `s3:GetBucketPublicAccessBlock`, `HeadBucket` → `s3:ListBucket`). `service` is the IAM
/// service prefix (`elasticloadbalancing`, not `elbv2`), as [`crate::engine::ApiCall`]s
/// record it.
pub fn permission(service: &str, operation: &str) -> String {
    let operation = match (service, operation) {
        ("s3", "GetPublicAccessBlock") => "GetBucketPublicAccessBlock",
        ("s3", "PutPublicAccessBlock") => "PutBucketPublicAccessBlock",
        ("s3", "DeletePublicAccessBlock") => "PutBucketPublicAccessBlock",
        ("s3", "HeadBucket" | "ListObjectsV2") => "ListBucket",
        ("s3", "ListObjectVersions") => "ListBucketVersions",
        ("s3", "HeadObject") => "GetObject",
        // The copy is written as `s3:PutObject`; its source read is a member's permission.
        ("s3", "CopyObject") => "PutObject",
        ("s3", "GetObjectLockConfiguration") => "GetBucketObjectLockConfiguration",
        ("s3", "PutObjectLockConfiguration") => "PutBucketObjectLockConfiguration",
        (_, op) => op,
    };
    format!("{service}:{operation}")
}

/// The least-privilege IAM policy for running `actions` on `engine`: every permission the
/// catalog lists for them there, sorted and once. A permission that every action needing it
/// needs only on a condition (`iam:AttachUserPolicy` of `AWSDenyAll` alone) is granted on that
/// condition, in a statement of its own (`FirebreakPlaybookNarrowed`), and not in the first.
/// The security-group rule writes are granted on firebreak's own groups only
/// ([`ON_OWN_GROUPS`]), and the tag that marks them may be given only as a group is made.
/// Last, the IAM writes are denied on the protected roles ([`never_on_protected`]).
pub fn policy(actions: impl IntoIterator<Item = Action>, engine: Engine) -> serde_json::Value {
    let actions: Vec<Action> = actions.into_iter().collect();
    let mut names: Vec<&str> = actions.iter().flat_map(|a| a.permissions(engine)).collect();
    names.sort_unstable();
    names.dedup();
    let all = names.clone();
    // A permission is narrowed when no action needing it needs it unconditioned.
    let mut narrowed: Vec<crate::domain::define::Narrowed> = Vec::new();
    let mut open: Vec<&str> = Vec::new();
    for a in &actions {
        let conditions = a.spec().conditions();
        for p in a.permissions(engine) {
            let mine: Vec<_> = conditions.iter().filter(|n| n.permission == p).collect();
            if mine.is_empty() {
                open.push(p);
            }
            narrowed.extend(mine);
        }
    }
    narrowed.retain(|n| !open.contains(&n.permission));
    names.retain(|p| !narrowed.iter().any(|n| n.permission == *p) && !ON_OWN_GROUPS.contains(p));
    // One statement per permission and condition key, with every value a definition gives.
    let mut grouped: std::collections::BTreeMap<(&str, &str, &str), Vec<&str>> =
        std::collections::BTreeMap::new();
    for n in &narrowed {
        let values = grouped
            .entry((n.permission, n.operator, n.key))
            .or_default();
        if !values.contains(&n.value) {
            values.push(n.value);
        }
    }
    let mut statements = vec![serde_json::json!(
        {"Sid": "FirebreakPlaybook", "Effect": "Allow", "Action": names, "Resource": "*"}
    )];
    for ((permission, operator, key), values) in grouped {
        statements.push(serde_json::json!({
            "Sid": format!("FirebreakPlaybookNarrowed{}", statements.len()),
            "Effect": "Allow",
            "Action": permission,
            "Resource": "*",
            "Condition": {operator: {key: values}},
        }));
    }
    let own: Vec<&str> = all
        .iter()
        .copied()
        .filter(|p| ON_OWN_GROUPS.contains(p))
        .collect();
    if !own.is_empty() {
        statements.push(serde_json::json!({
            "Sid": OWN_GROUPS_SID,
            "Effect": "Allow",
            "Action": own,
            "Resource": "arn:aws:ec2:*:*:security-group/*",
            "Condition": {"StringEquals": {
                format!("aws:ResourceTag/{}", names::PURPOSE_TAG): names::PURPOSE_ISOLATION
            }},
        }));
    }
    if all.contains(&"ec2:CreateTags") {
        // The purpose tag is given as a group is made, never afterwards: with it, a stolen
        // credential could make any group one the responder may open.
        statements.push(serde_json::json!({
            "Sid": TAG_AT_CREATION_SID,
            "Effect": "Deny",
            "Action": "ec2:CreateTags",
            "Resource": "*",
            "Condition": {
                "ForAnyValue:StringEquals": {"aws:TagKeys": [names::PURPOSE_TAG]},
                "StringNotEquals": {"ec2:CreateAction": ["CreateSecurityGroup"]},
            },
        }));
    }
    if let Some(deny) = never_on_protected(&all) {
        statements.push(deny);
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
}

/// The security-group rule writes. Firebreak writes rules only in the groups it makes (the
/// isolation and transition groups, tagged [`names::PURPOSE_TAG`] as they are made), so the
/// policy grants them only on groups with that tag (`FirebreakPlaybookOwnSecurityGroups`): a stolen
/// responder credential cannot open another group.
pub const ON_OWN_GROUPS: &[&str] = &[
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
];

/// The Sid of the statement that grants [`ON_OWN_GROUPS`] on firebreak's groups.
pub const OWN_GROUPS_SID: &str = "FirebreakPlaybookOwnSecurityGroups";

/// The Sid of the Deny of [`names::PURPOSE_TAG`] given anyhow but as a group is made.
pub const TAG_AT_CREATION_SID: &str = "FirebreakPurposeTagOnlyAtCreation";

/// The Sid of the statement that keeps the policy's bucket writes off the evidence bucket.
pub const NEVER_ON_EVIDENCE_SID: &str = "FirebreakNeverOnTheEvidenceBucket";

/// Adds to `policy` (from [`policy`]) a Deny of every S3 bucket write it grants (`PutBucket…`,
/// `DeleteBucket…`: a bucket's policy, public access block, versioning) on the evidence
/// bucket `bucket`, and of every object-tag write (a quarantine's) on its objects: steps never
/// act on it, and a stolen credential of the responder cannot change its policy either.
/// Objects themselves are not named: evidence is written there.
pub fn never_on_evidence(policy: &mut serde_json::Value, bucket: &str) {
    let Some(statements) = policy["Statement"].as_array_mut() else {
        return;
    };
    let mut writes: Vec<String> = statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Action"] {
            serde_json::Value::Array(a) => a.clone(),
            one => vec![one.clone()],
        })
        .filter_map(|a| a.as_str().map(str::to_string))
        .filter(|p| {
            p.strip_prefix("s3:").is_some_and(|a| {
                a.starts_with("PutBucket")
                    || a.starts_with("DeleteBucket")
                    || (a.starts_with("PutObject") || a.starts_with("DeleteObject"))
                        && a.ends_with("Tagging")
            })
        })
        .collect();
    writes.sort();
    writes.dedup();
    let (object, bucket_writes): (Vec<String>, Vec<String>) =
        writes.into_iter().partition(|p| p.contains("Object"));
    if !bucket_writes.is_empty() || !object.is_empty() {
        let mut resources = vec![format!("arn:aws:s3:::{bucket}")];
        if !object.is_empty() {
            resources.push(format!("arn:aws:s3:::{bucket}/*"));
        }
        let actions: Vec<String> = bucket_writes.into_iter().chain(object).collect();
        statements.push(serde_json::json!({
            "Sid": NEVER_ON_EVIDENCE_SID,
            "Effect": "Deny",
            "Action": actions,
            "Resource": if resources.len() == 1 {
                serde_json::Value::String(resources.remove(0))
            } else {
                serde_json::json!(resources)
            },
        }));
    }
}

/// The Sid of the statement that keeps the policy's IAM writes off the protected roles.
pub const NEVER_ON_PROTECTED_SID: &str = "FirebreakNeverOnProtectedRoles";

/// A Deny of every IAM write among `permissions` (what is not a `Get…` or `List…`) on the
/// roles no step touches (`config::PROTECTED`: the organization's break-glass role and
/// firebreak's own, under any path), `None` when there is none. Triage already keeps every step
/// off them; this keeps a stolen credential of the responder off them too: with
/// `iam:PutRolePolicy` on `*` it could otherwise write its own role an Allow-all.
fn never_on_protected(permissions: &[&str]) -> Option<serde_json::Value> {
    let writes: Vec<&str> = permissions
        .iter()
        .copied()
        .filter(|p| {
            p.strip_prefix("iam:")
                .is_some_and(|a| !a.starts_with("Get") && !a.starts_with("List"))
        })
        .collect();
    if writes.is_empty() {
        return None;
    }
    let roles: Vec<String> = crate::domain::config::PROTECTED
        .iter()
        .flat_map(|name| {
            [
                format!("arn:aws:iam::*:role/{name}"),
                format!("arn:aws:iam::*:role/*/{name}"),
            ]
        })
        .collect();
    Some(serde_json::json!({
        "Sid": NEVER_ON_PROTECTED_SID,
        "Effect": "Deny",
        "Action": writes,
        "Resource": roles,
    }))
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_undo_names_only_the_action_s_outputs_and_parameters() {
        for a in Action::ALL {
            let spec = a.spec();
            let mut rest = spec.undo;
            while let Some(start) = rest.find('{') {
                let end = rest[start..].find('}').map(|e| start + e).unwrap();
                let name = &rest[start + 1..end];
                assert!(
                    spec.outputs.iter().any(|o| o.name == name)
                        || spec.params.iter().any(|p| p.name == name),
                    "{}: undo names `{name}`, which is neither an output nor a parameter",
                    spec.name
                );
                rest = &rest[end + 1..];
            }
            assert_eq!(
                spec.undo.is_empty(),
                !spec.mutates() || spec.effect == Effect::Notify,
                "{}: an action that changes something says how to undo it",
                spec.name
            );
        }
    }

    use super::*;

    #[test]
    fn calls_name_their_iam_actions() {
        assert_eq!(permission("iam", "UpdateAccessKey"), "iam:UpdateAccessKey");
        assert_eq!(
            permission("s3", "PutPublicAccessBlock"),
            "s3:PutBucketPublicAccessBlock"
        );
        assert_eq!(permission("s3", "HeadBucket"), "s3:ListBucket");
        // One engine's permissions only: the local user capture reads each key's last use.
        let local: Vec<_> = Action::IamCaptureUser.permissions(Engine::Local).collect();
        let sfn: Vec<_> = Action::IamCaptureUser.permissions(Engine::Sfn).collect();
        assert!(local.contains(&"iam:GetAccessKeyLastUsed") && local.contains(&"iam:GetUser"));
        assert!(!sfn.contains(&"iam:GetAccessKeyLastUsed") && sfn.contains(&"iam:GetUser"));
    }

    /// The defaults the plan binds are the names both engines use when a parameter is absent,
    /// and what one engine cannot do is declared on the definition, consistently.
    #[test]
    fn defaults_are_the_shared_names_and_limits_are_consistent() {
        let default = |a: Action, p: &str| {
            serde_json::from_str::<String>(a.spec().param(p).unwrap().default.unwrap()).unwrap()
        };
        assert_eq!(
            default(Action::IamRevokeRoleSessions, "policy_name"),
            names::REVOKE_POLICY
        );
        assert_eq!(
            default(Action::Ec2IsolateInstance, "isolation_group"),
            names::ISOLATION_GROUP
        );
        assert_eq!(
            default(Action::Ec2IsolateInstance, "transition_group"),
            names::TRANSITION_GROUP
        );
        for a in Action::ALL {
            let spec = a.spec();
            for (p, _) in spec.engine_only() {
                assert!(
                    spec.permissions().contains(&p),
                    "{a}: {p} is not a permission"
                );
            }
            for o in spec.sfn_unavailable() {
                assert!(spec.output(o).is_some(), "{a}: {o} is not an output");
            }
            for (_, f) in spec.fixed_tags {
                if *f == Fixed::InstanceId {
                    assert!(spec.param("instance_id").is_some(), "{a}");
                }
            }
        }
    }

    #[test]
    fn names_are_unique_and_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.spec().name), Some(*a));
            let (service, verb) = a.spec().name.split_once('.').expect("service.verb");
            assert!(!service.is_empty() && !verb.is_empty());
        }
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.spec().name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
    }

    #[test]
    fn defaults_parse_and_fit_their_type() {
        for a in Action::ALL {
            for p in a.spec().params {
                if let Some(d) = p.default {
                    let v: serde_json::Value = serde_json::from_str(d).expect("default is JSON");
                    assert!(p.ty.coerce(&v).is_some(), "{}.{}", a, p.name);
                    assert!(
                        !p.required,
                        "{}.{} has a default but is required",
                        a, p.name
                    );
                }
            }
        }
    }

    #[test]
    fn mutating_actions_name_permissions() {
        for a in Action::ALL {
            let s = a.spec();
            if s.effect != Effect::Notify {
                assert!(!s.permissions().is_empty(), "{a} lists no permission");
            }
        }
    }
}
