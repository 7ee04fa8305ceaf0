//! The AWS operations definitions call: each one's service, name and IAM permission.

/// An AWS operation a definition calls: one adapter in the local engine, one SDK integration
/// (`arn:aws:states:::aws-sdk:<service>:<operation>`) in a state machine. Two are not both:
/// [`Op::HttpPost`] is firebreak's own POST, which only the local engine makes, and
/// [`Op::EventsPutEvents`] is how a state machine sends that notification instead
/// ([`Op::engine`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    IamGetLoginProfile,
    IamDeleteLoginProfile,
    S3GetBucketVersioning,
    S3PutBucketVersioning,
    S3GetPublicAccessBlock,
    S3PutPublicAccessBlock,
    S3GetBucketPolicy,
    S3PutBucketPolicy,
    S3GetObjectTagging,
    S3PutObjectTagging,
    S3GetBucketAcl,
    S3GetBucketOwnershipControls,
    S3GetObjectLockConfiguration,
    S3GetObjectLegalHold,
    S3PutObjectLegalHold,
    S3CopyObject,
    Ec2DescribeInstances,
    Ec2StopInstances,
    IamGetRole,
    IamListAttachedRolePolicies,
    IamListRolePolicies,
    IamListInstanceProfilesForRole,
    IamListAccessKeys,
    IamUpdateAccessKey,
    IamListMfaDevices,
    IamDeactivateMfaDevice,
    AutoscalingDescribeAutoScalingInstances,
    AutoscalingDetachInstances,
    Ec2DescribeTags,
    Ec2CreateTags,
    Ec2DescribeIamInstanceProfileAssociations,
    Ec2DisassociateIamInstanceProfile,
    IamGetInstanceProfile,
    Ec2DescribeInstanceAttribute,
    Ec2ModifyInstanceAttribute,
    IamGetUser,
    IamListAttachedUserPolicies,
    IamAttachUserPolicy,
    IamListUserPolicies,
    IamListGroupsForUser,
    IamGetAccessKeyLastUsed,
    IamListUserTags,
    SnsPublish,
    Ec2GetConsoleOutput,
    Ec2DescribeVolumes,
    Ec2DescribeNetworkInterfaces,
    Elbv2DescribeTargetGroups,
    Elbv2DescribeTargetHealth,
    Elbv2DeregisterTargets,
    Ec2DescribeSnapshots,
    Ec2CreateSnapshot,
    Ec2DescribeSnapshotAttribute,
    Ec2ModifySnapshotAttribute,
    Ec2DescribeImages,
    Ec2DescribeImageAttribute,
    Ec2ModifyImageAttribute,
    LambdaGetFunctionConfiguration,
    LambdaGetFunctionConcurrency,
    LambdaPutFunctionConcurrency,
    LambdaListEventSourceMappings,
    LambdaUpdateEventSourceMapping,
    LambdaGetFunctionUrlConfig,
    LambdaUpdateFunctionUrlConfig,
    LambdaGetPolicy,
    LambdaRemovePermission,
    Ec2DescribeSecurityGroups,
    Ec2CreateSecurityGroup,
    Ec2RevokeSecurityGroupEgress,
    RdsDescribeDbInstances,
    RdsModifyDbInstance,
    RdsDescribeDbSnapshots,
    RdsCreateDbSnapshot,
    RdsDescribeDbClusterSnapshots,
    RdsCreateDbClusterSnapshot,
    RdsDescribeDbClusters,
    RdsModifyDbCluster,
    RdsAddTagsToResource,
    RdsListTagsForResource,
    IamGetRolePolicy,
    IamPutRolePolicy,
    EcsDescribeTasks,
    EcsDescribeTaskDefinition,
    EcsGetTaskProtection,
    EcsUpdateTaskProtection,
    EcsStopTask,
    EcsDescribeServices,
    EcsUpdateService,
    Ec2DescribeSubnets,
    EksDescribeCluster,
    EksUpdateClusterConfig,
    EksDescribeAccessEntry,
    EksListAssociatedAccessPolicies,
    BackupDescribeRecoveryPoint,
    BackupGetBackupVaultAccessPolicy,
    BackupPutBackupVaultAccessPolicy,
    BackupListTags,
    BackupTagResource,
    EksDeleteAccessEntry,
    EksListPodIdentityAssociations,
    EksDescribePodIdentityAssociation,
    EksDeletePodIdentityAssociation,
    /// A JSON POST to a webhook (members `Url`, `Text`; answers `Status`), made by firebreak's
    /// own process to a public HTTPS address only (`crate::aws::webhook`).
    HttpPost,
    /// EventBridge's `PutEvents` through Step Functions' optimized integration.
    EventsPutEvents,
}

impl Op {
    /// The service as Step Functions' SDK integrations name it.
    pub fn service(self) -> &'static str {
        match self {
            Op::IamGetLoginProfile
            | Op::IamDeleteLoginProfile
            | Op::IamGetRole
            | Op::IamListAttachedRolePolicies
            | Op::IamListRolePolicies
            | Op::IamListInstanceProfilesForRole
            | Op::IamListAccessKeys
            | Op::IamUpdateAccessKey
            | Op::IamListMfaDevices
            | Op::IamDeactivateMfaDevice
            | Op::IamGetInstanceProfile
            | Op::IamGetUser
            | Op::IamListAttachedUserPolicies
            | Op::IamAttachUserPolicy
            | Op::IamListUserPolicies
            | Op::IamListGroupsForUser
            | Op::IamGetAccessKeyLastUsed
            | Op::IamListUserTags
            | Op::IamGetRolePolicy
            | Op::IamPutRolePolicy => "iam",
            Op::S3GetBucketVersioning
            | Op::S3PutBucketVersioning
            | Op::S3GetPublicAccessBlock
            | Op::S3PutPublicAccessBlock
            | Op::S3GetBucketPolicy
            | Op::S3PutBucketPolicy
            | Op::S3GetObjectTagging
            | Op::S3PutObjectTagging
            | Op::S3GetBucketAcl
            | Op::S3GetBucketOwnershipControls
            | Op::S3GetObjectLockConfiguration
            | Op::S3GetObjectLegalHold
            | Op::S3PutObjectLegalHold
            | Op::S3CopyObject => "s3",
            Op::Ec2DescribeInstances
            | Op::Ec2StopInstances
            | Op::Ec2DescribeTags
            | Op::Ec2CreateTags
            | Op::Ec2DescribeIamInstanceProfileAssociations
            | Op::Ec2DisassociateIamInstanceProfile
            | Op::Ec2DescribeInstanceAttribute
            | Op::Ec2ModifyInstanceAttribute
            | Op::Ec2GetConsoleOutput
            | Op::Ec2DescribeVolumes
            | Op::Ec2DescribeNetworkInterfaces
            | Op::Ec2DescribeSnapshots
            | Op::Ec2CreateSnapshot
            | Op::Ec2DescribeSnapshotAttribute
            | Op::Ec2ModifySnapshotAttribute
            | Op::Ec2DescribeImages
            | Op::Ec2DescribeImageAttribute
            | Op::Ec2ModifyImageAttribute
            | Op::Ec2DescribeSecurityGroups
            | Op::Ec2CreateSecurityGroup
            | Op::Ec2RevokeSecurityGroupEgress
            | Op::Ec2DescribeSubnets => "ec2",
            Op::RdsDescribeDbInstances
            | Op::RdsModifyDbInstance
            | Op::RdsDescribeDbSnapshots
            | Op::RdsCreateDbSnapshot
            | Op::RdsDescribeDbClusterSnapshots
            | Op::RdsCreateDbClusterSnapshot
            | Op::RdsDescribeDbClusters
            | Op::RdsModifyDbCluster
            | Op::RdsAddTagsToResource
            | Op::RdsListTagsForResource => "rds",
            Op::EcsDescribeTasks
            | Op::EcsDescribeTaskDefinition
            | Op::EcsGetTaskProtection
            | Op::EcsUpdateTaskProtection
            | Op::EcsStopTask
            | Op::EcsDescribeServices
            | Op::EcsUpdateService => "ecs",
            Op::EksDescribeCluster
            | Op::EksUpdateClusterConfig
            | Op::EksDescribeAccessEntry
            | Op::EksListAssociatedAccessPolicies
            | Op::EksDeleteAccessEntry
            | Op::EksListPodIdentityAssociations
            | Op::EksDescribePodIdentityAssociation
            | Op::EksDeletePodIdentityAssociation => "eks",
            Op::BackupDescribeRecoveryPoint
            | Op::BackupGetBackupVaultAccessPolicy
            | Op::BackupPutBackupVaultAccessPolicy
            | Op::BackupListTags
            | Op::BackupTagResource => "backup",
            Op::HttpPost => "http",
            Op::EventsPutEvents => "events",
            Op::AutoscalingDescribeAutoScalingInstances | Op::AutoscalingDetachInstances => {
                "autoscaling"
            }
            Op::SnsPublish => "sns",
            Op::LambdaGetFunctionConfiguration
            | Op::LambdaGetFunctionConcurrency
            | Op::LambdaPutFunctionConcurrency
            | Op::LambdaListEventSourceMappings
            | Op::LambdaUpdateEventSourceMapping
            | Op::LambdaGetFunctionUrlConfig
            | Op::LambdaUpdateFunctionUrlConfig
            | Op::LambdaGetPolicy
            | Op::LambdaRemovePermission => "lambda",
            Op::Elbv2DescribeTargetGroups
            | Op::Elbv2DescribeTargetHealth
            | Op::Elbv2DeregisterTargets => "elasticloadbalancingv2",
        }
    }

    /// The service as IAM, the API's endpoint and the evidence name it (`elasticloadbalancing`
    /// for Elastic Load Balancing v2, which Step Functions calls `elasticloadbalancingv2`).
    pub fn api_service(self) -> &'static str {
        match self.service() {
            "elasticloadbalancingv2" => "elasticloadbalancing",
            other => other,
        }
    }

    /// The API operation's name (PascalCase, as in AWS's API reference and the evidence).
    pub fn name(self) -> &'static str {
        match self {
            Op::IamGetLoginProfile => "GetLoginProfile",
            Op::IamDeleteLoginProfile => "DeleteLoginProfile",
            Op::S3GetBucketVersioning => "GetBucketVersioning",
            Op::S3PutBucketVersioning => "PutBucketVersioning",
            Op::S3GetPublicAccessBlock => "GetPublicAccessBlock",
            Op::S3PutPublicAccessBlock => "PutPublicAccessBlock",
            Op::S3GetBucketPolicy => "GetBucketPolicy",
            Op::S3PutBucketPolicy => "PutBucketPolicy",
            Op::S3GetObjectTagging => "GetObjectTagging",
            Op::S3PutObjectTagging => "PutObjectTagging",
            Op::S3GetBucketAcl => "GetBucketAcl",
            Op::S3GetBucketOwnershipControls => "GetBucketOwnershipControls",
            Op::S3GetObjectLockConfiguration => "GetObjectLockConfiguration",
            Op::S3GetObjectLegalHold => "GetObjectLegalHold",
            Op::S3PutObjectLegalHold => "PutObjectLegalHold",
            Op::S3CopyObject => "CopyObject",
            Op::Ec2DescribeInstances => "DescribeInstances",
            Op::Ec2StopInstances => "StopInstances",
            Op::IamGetRole => "GetRole",
            Op::IamListAttachedRolePolicies => "ListAttachedRolePolicies",
            Op::IamListRolePolicies => "ListRolePolicies",
            Op::IamListInstanceProfilesForRole => "ListInstanceProfilesForRole",
            Op::IamListAccessKeys => "ListAccessKeys",
            Op::IamUpdateAccessKey => "UpdateAccessKey",
            Op::IamListMfaDevices => "ListMFADevices",
            Op::IamDeactivateMfaDevice => "DeactivateMFADevice",
            Op::AutoscalingDescribeAutoScalingInstances => "DescribeAutoScalingInstances",
            Op::AutoscalingDetachInstances => "DetachInstances",
            Op::Ec2DescribeTags => "DescribeTags",
            Op::Ec2CreateTags => "CreateTags",
            Op::Ec2DescribeIamInstanceProfileAssociations => {
                "DescribeIamInstanceProfileAssociations"
            }
            Op::Ec2DisassociateIamInstanceProfile => "DisassociateIamInstanceProfile",
            Op::IamGetInstanceProfile => "GetInstanceProfile",
            Op::Ec2DescribeInstanceAttribute => "DescribeInstanceAttribute",
            Op::Ec2ModifyInstanceAttribute => "ModifyInstanceAttribute",
            Op::IamGetUser => "GetUser",
            Op::IamListAttachedUserPolicies => "ListAttachedUserPolicies",
            Op::IamAttachUserPolicy => "AttachUserPolicy",
            Op::IamListUserPolicies => "ListUserPolicies",
            Op::IamListGroupsForUser => "ListGroupsForUser",
            Op::IamGetAccessKeyLastUsed => "GetAccessKeyLastUsed",
            Op::IamListUserTags => "ListUserTags",
            Op::SnsPublish => "Publish",
            Op::Ec2GetConsoleOutput => "GetConsoleOutput",
            Op::Ec2DescribeVolumes => "DescribeVolumes",
            Op::Ec2DescribeNetworkInterfaces => "DescribeNetworkInterfaces",
            Op::Elbv2DescribeTargetGroups => "DescribeTargetGroups",
            Op::Elbv2DescribeTargetHealth => "DescribeTargetHealth",
            Op::Elbv2DeregisterTargets => "DeregisterTargets",
            Op::Ec2DescribeSnapshots => "DescribeSnapshots",
            Op::Ec2CreateSnapshot => "CreateSnapshot",
            Op::Ec2DescribeSnapshotAttribute => "DescribeSnapshotAttribute",
            Op::Ec2ModifySnapshotAttribute => "ModifySnapshotAttribute",
            Op::Ec2DescribeImages => "DescribeImages",
            Op::Ec2DescribeImageAttribute => "DescribeImageAttribute",
            Op::Ec2ModifyImageAttribute => "ModifyImageAttribute",
            Op::LambdaGetFunctionConfiguration => "GetFunctionConfiguration",
            Op::LambdaGetFunctionConcurrency => "GetFunctionConcurrency",
            Op::LambdaPutFunctionConcurrency => "PutFunctionConcurrency",
            Op::LambdaListEventSourceMappings => "ListEventSourceMappings",
            Op::LambdaUpdateEventSourceMapping => "UpdateEventSourceMapping",
            Op::LambdaGetFunctionUrlConfig => "GetFunctionUrlConfig",
            Op::LambdaUpdateFunctionUrlConfig => "UpdateFunctionUrlConfig",
            Op::LambdaGetPolicy => "GetPolicy",
            Op::LambdaRemovePermission => "RemovePermission",
            Op::Ec2DescribeSecurityGroups => "DescribeSecurityGroups",
            Op::Ec2CreateSecurityGroup => "CreateSecurityGroup",
            Op::Ec2RevokeSecurityGroupEgress => "RevokeSecurityGroupEgress",
            Op::RdsDescribeDbInstances => "DescribeDBInstances",
            Op::RdsModifyDbInstance => "ModifyDBInstance",
            Op::RdsDescribeDbSnapshots => "DescribeDBSnapshots",
            Op::RdsCreateDbSnapshot => "CreateDBSnapshot",
            Op::RdsDescribeDbClusterSnapshots => "DescribeDBClusterSnapshots",
            Op::RdsCreateDbClusterSnapshot => "CreateDBClusterSnapshot",
            Op::RdsDescribeDbClusters => "DescribeDBClusters",
            Op::RdsModifyDbCluster => "ModifyDBCluster",
            Op::RdsAddTagsToResource => "AddTagsToResource",
            Op::RdsListTagsForResource => "ListTagsForResource",
            Op::IamGetRolePolicy => "GetRolePolicy",
            Op::IamPutRolePolicy => "PutRolePolicy",
            Op::EcsDescribeTasks => "DescribeTasks",
            Op::EcsDescribeTaskDefinition => "DescribeTaskDefinition",
            Op::EcsGetTaskProtection => "GetTaskProtection",
            Op::EcsUpdateTaskProtection => "UpdateTaskProtection",
            Op::EcsStopTask => "StopTask",
            Op::EcsDescribeServices => "DescribeServices",
            Op::EcsUpdateService => "UpdateService",
            Op::Ec2DescribeSubnets => "DescribeSubnets",
            Op::EksDescribeCluster => "DescribeCluster",
            Op::EksUpdateClusterConfig => "UpdateClusterConfig",
            Op::EksDescribeAccessEntry => "DescribeAccessEntry",
            Op::EksListAssociatedAccessPolicies => "ListAssociatedAccessPolicies",
            Op::BackupDescribeRecoveryPoint => "DescribeRecoveryPoint",
            Op::BackupGetBackupVaultAccessPolicy => "GetBackupVaultAccessPolicy",
            Op::BackupPutBackupVaultAccessPolicy => "PutBackupVaultAccessPolicy",
            Op::BackupListTags => "ListTags",
            Op::BackupTagResource => "TagResource",
            Op::EksDeleteAccessEntry => "DeleteAccessEntry",
            Op::EksListPodIdentityAssociations => "ListPodIdentityAssociations",
            Op::EksDescribePodIdentityAssociation => "DescribePodIdentityAssociation",
            Op::EksDeletePodIdentityAssociation => "DeletePodIdentityAssociation",
            Op::HttpPost => "POST",
            Op::EventsPutEvents => "PutEvents",
        }
    }

    /// The IAM permission the call needs (not always `service:Name`: S3's public access block
    /// calls are authorised as `s3:GetBucketPublicAccessBlock` and `s3:PutBucketPublicAccessBlock`).
    /// `None` for firebreak's own POST, which is no AWS call.
    pub fn permission(self) -> Option<&'static str> {
        Some(match self {
            Op::IamGetLoginProfile => "iam:GetLoginProfile",
            Op::IamDeleteLoginProfile => "iam:DeleteLoginProfile",
            Op::S3GetBucketVersioning => "s3:GetBucketVersioning",
            Op::S3PutBucketVersioning => "s3:PutBucketVersioning",
            Op::S3GetPublicAccessBlock => "s3:GetBucketPublicAccessBlock",
            Op::S3PutPublicAccessBlock => "s3:PutBucketPublicAccessBlock",
            Op::S3GetBucketPolicy => "s3:GetBucketPolicy",
            Op::S3PutBucketPolicy => "s3:PutBucketPolicy",
            Op::S3GetObjectTagging => "s3:GetObjectTagging",
            Op::S3PutObjectTagging => "s3:PutObjectTagging",
            Op::S3GetBucketAcl => "s3:GetBucketAcl",
            Op::S3GetBucketOwnershipControls => "s3:GetBucketOwnershipControls",
            Op::S3GetObjectLockConfiguration => "s3:GetBucketObjectLockConfiguration",
            Op::S3GetObjectLegalHold => "s3:GetObjectLegalHold",
            Op::S3PutObjectLegalHold => "s3:PutObjectLegalHold",
            // Writes the copy; reading the source is a member's permission.
            Op::S3CopyObject => "s3:PutObject",
            Op::Ec2DescribeInstances => "ec2:DescribeInstances",
            Op::Ec2StopInstances => "ec2:StopInstances",
            Op::IamGetRole => "iam:GetRole",
            Op::IamListAttachedRolePolicies => "iam:ListAttachedRolePolicies",
            Op::IamListRolePolicies => "iam:ListRolePolicies",
            Op::IamListInstanceProfilesForRole => "iam:ListInstanceProfilesForRole",
            Op::IamListAccessKeys => "iam:ListAccessKeys",
            Op::IamUpdateAccessKey => "iam:UpdateAccessKey",
            Op::IamListMfaDevices => "iam:ListMFADevices",
            Op::IamDeactivateMfaDevice => "iam:DeactivateMFADevice",
            Op::AutoscalingDescribeAutoScalingInstances => {
                "autoscaling:DescribeAutoScalingInstances"
            }
            Op::AutoscalingDetachInstances => "autoscaling:DetachInstances",
            Op::Ec2DescribeTags => "ec2:DescribeTags",
            Op::Ec2CreateTags => "ec2:CreateTags",
            Op::Ec2DescribeIamInstanceProfileAssociations => {
                "ec2:DescribeIamInstanceProfileAssociations"
            }
            Op::Ec2DisassociateIamInstanceProfile => "ec2:DisassociateIamInstanceProfile",
            Op::IamGetInstanceProfile => "iam:GetInstanceProfile",
            Op::Ec2DescribeInstanceAttribute => "ec2:DescribeInstanceAttribute",
            Op::Ec2ModifyInstanceAttribute => "ec2:ModifyInstanceAttribute",
            Op::IamGetUser => "iam:GetUser",
            Op::IamListAttachedUserPolicies => "iam:ListAttachedUserPolicies",
            Op::IamAttachUserPolicy => "iam:AttachUserPolicy",
            Op::IamListUserPolicies => "iam:ListUserPolicies",
            Op::IamListGroupsForUser => "iam:ListGroupsForUser",
            Op::IamGetAccessKeyLastUsed => "iam:GetAccessKeyLastUsed",
            Op::IamListUserTags => "iam:ListUserTags",
            Op::SnsPublish => "sns:Publish",
            Op::Ec2GetConsoleOutput => "ec2:GetConsoleOutput",
            Op::Ec2DescribeVolumes => "ec2:DescribeVolumes",
            Op::Ec2DescribeNetworkInterfaces => "ec2:DescribeNetworkInterfaces",
            Op::Elbv2DescribeTargetGroups => "elasticloadbalancing:DescribeTargetGroups",
            Op::Elbv2DescribeTargetHealth => "elasticloadbalancing:DescribeTargetHealth",
            Op::Elbv2DeregisterTargets => "elasticloadbalancing:DeregisterTargets",
            Op::Ec2DescribeSnapshots => "ec2:DescribeSnapshots",
            Op::Ec2CreateSnapshot => "ec2:CreateSnapshot",
            Op::Ec2DescribeSnapshotAttribute => "ec2:DescribeSnapshotAttribute",
            Op::Ec2ModifySnapshotAttribute => "ec2:ModifySnapshotAttribute",
            Op::Ec2DescribeImages => "ec2:DescribeImages",
            Op::Ec2DescribeImageAttribute => "ec2:DescribeImageAttribute",
            Op::Ec2ModifyImageAttribute => "ec2:ModifyImageAttribute",
            Op::LambdaGetFunctionConfiguration => "lambda:GetFunctionConfiguration",
            Op::LambdaGetFunctionConcurrency => "lambda:GetFunctionConcurrency",
            Op::LambdaPutFunctionConcurrency => "lambda:PutFunctionConcurrency",
            Op::LambdaListEventSourceMappings => "lambda:ListEventSourceMappings",
            Op::LambdaUpdateEventSourceMapping => "lambda:UpdateEventSourceMapping",
            Op::LambdaGetFunctionUrlConfig => "lambda:GetFunctionUrlConfig",
            Op::LambdaUpdateFunctionUrlConfig => "lambda:UpdateFunctionUrlConfig",
            Op::LambdaGetPolicy => "lambda:GetPolicy",
            Op::LambdaRemovePermission => "lambda:RemovePermission",
            Op::Ec2DescribeSecurityGroups => "ec2:DescribeSecurityGroups",
            Op::Ec2CreateSecurityGroup => "ec2:CreateSecurityGroup",
            Op::Ec2RevokeSecurityGroupEgress => "ec2:RevokeSecurityGroupEgress",
            Op::RdsDescribeDbInstances => "rds:DescribeDBInstances",
            Op::RdsModifyDbInstance => "rds:ModifyDBInstance",
            Op::RdsDescribeDbSnapshots => "rds:DescribeDBSnapshots",
            Op::RdsCreateDbSnapshot => "rds:CreateDBSnapshot",
            Op::RdsDescribeDbClusterSnapshots => "rds:DescribeDBClusterSnapshots",
            Op::RdsCreateDbClusterSnapshot => "rds:CreateDBClusterSnapshot",
            Op::RdsDescribeDbClusters => "rds:DescribeDBClusters",
            Op::RdsModifyDbCluster => "rds:ModifyDBCluster",
            Op::RdsAddTagsToResource => "rds:AddTagsToResource",
            Op::RdsListTagsForResource => "rds:ListTagsForResource",
            Op::IamGetRolePolicy => "iam:GetRolePolicy",
            Op::IamPutRolePolicy => "iam:PutRolePolicy",
            Op::EcsDescribeTasks => "ecs:DescribeTasks",
            Op::EcsDescribeTaskDefinition => "ecs:DescribeTaskDefinition",
            Op::EcsGetTaskProtection => "ecs:GetTaskProtection",
            Op::EcsUpdateTaskProtection => "ecs:UpdateTaskProtection",
            Op::EcsStopTask => "ecs:StopTask",
            Op::EcsDescribeServices => "ecs:DescribeServices",
            Op::EcsUpdateService => "ecs:UpdateService",
            Op::Ec2DescribeSubnets => "ec2:DescribeSubnets",
            Op::EksDescribeCluster => "eks:DescribeCluster",
            Op::EksUpdateClusterConfig => "eks:UpdateClusterConfig",
            Op::EksDescribeAccessEntry => "eks:DescribeAccessEntry",
            Op::EksListAssociatedAccessPolicies => "eks:ListAssociatedAccessPolicies",
            Op::BackupDescribeRecoveryPoint => "backup:DescribeRecoveryPoint",
            Op::BackupGetBackupVaultAccessPolicy => "backup:GetBackupVaultAccessPolicy",
            Op::BackupPutBackupVaultAccessPolicy => "backup:PutBackupVaultAccessPolicy",
            Op::BackupListTags => "backup:ListTags",
            Op::BackupTagResource => "backup:TagResource",
            Op::EksDeleteAccessEntry => "eks:DeleteAccessEntry",
            Op::EksListPodIdentityAssociations => "eks:ListPodIdentityAssociations",
            Op::EksDescribePodIdentityAssociation => "eks:DescribePodIdentityAssociation",
            Op::EksDeletePodIdentityAssociation => "eks:DeletePodIdentityAssociation",
            Op::EventsPutEvents => "events:PutEvents",
            Op::HttpPost => return None,
        })
    }

    /// The one engine that can make the call, for the two that are not both engines':
    /// a definition's ask of one says so itself ([`super::Ask::only_on`]; the definitions
    /// test holds the two together).
    pub fn engine(self) -> Option<super::Engine> {
        match self {
            Op::HttpPost => Some(super::Engine::Local),
            Op::EventsPutEvents => Some(super::Engine::Sfn),
            _ => None,
        }
    }

    /// The permission a call of an object's version (`VersionId` given) needs besides
    /// [`Op::permission`]: S3 authorises `GetObjectTagging` of a version as
    /// `s3:GetObjectVersionTagging`.
    pub fn version_permission(self) -> Option<&'static str> {
        match self {
            Op::S3GetObjectTagging => Some("s3:GetObjectVersionTagging"),
            Op::S3PutObjectTagging => Some("s3:PutObjectVersionTagging"),
            _ => None,
        }
    }

    /// The Task's resource in a state machine: the SDK integration, or an optimized one
    /// (EventBridge's, which the emulator runs).
    pub fn sfn_resource(self) -> String {
        match self {
            Op::EventsPutEvents => "arn:aws:states:::events:putEvents".into(),
            _ => format!(
                "arn:aws:states:::aws-sdk:{}:{}",
                self.service(),
                self.sfn_name()
            ),
        }
    }

    /// The permissions AWS checks besides [`Op::permission`] when the call gives `member`: EC2
    /// tags a resource made with `TagSpecifications` as `ec2:CreateTags`; RDS makes or rotates
    /// a master password's secret in Secrets Manager as the caller.
    pub fn member_permissions(self, member: &str) -> &'static [&'static str] {
        match (self, member) {
            (op, "TagSpecifications") if op.service() == "ec2" => &["ec2:CreateTags"],
            (Op::RdsModifyDbInstance | Op::RdsModifyDbCluster, "ManageMasterUserPassword") => &[
                "kms:DescribeKey",
                "secretsmanager:CreateSecret",
                "secretsmanager:TagResource",
            ],
            // The source is read as the caller: a version of it (firebreak's copies always
            // name the version).
            (Op::S3CopyObject, "CopySource") => &["s3:GetObjectVersion"],
            (Op::RdsModifyDbInstance | Op::RdsModifyDbCluster, "RotateMasterUserPassword") => {
                &["secretsmanager:RotateSecret"]
            }
            _ => &[],
        }
    }

    /// The IAM condition key that AWS sets from one of the call's members, for calls a policy
    /// can narrow by what they are asked to do: the member, the key, and the condition
    /// operator that compares it (`iam:PolicyARN`, the managed policy a call attaches). A
    /// definition that gives that member a constant gets the permission on that condition
    /// only ([`super::Def::conditions`]).
    pub fn condition_key(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            Op::IamAttachUserPolicy => Some(("PolicyArn", "iam:PolicyARN", "ArnEquals")),
            _ => None,
        }
    }

    /// EC2 calls a dry run makes for real with `DryRun=true`, which checks permissions and
    /// parameters without acting (and the webhook's POST, whose address is checked); other
    /// changes are only noted in a dry run.
    pub fn dry_run_probe(self) -> bool {
        // DisassociateIamInstanceProfile is the EC2 change without a `DryRun` member. A POST's
        // probe checks where it would go, and sends nothing.
        (self.service() == "ec2" && self != Op::Ec2DisassociateIamInstanceProfile)
            || self == Op::HttpPost
    }

    /// The operation as Step Functions' SDK integrations spell it (camelCase).
    pub fn sfn_name(self) -> String {
        let name = self.name();
        let mut out = String::with_capacity(name.len());
        let mut chars = name.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_lowercase());
        }
        out.extend(chars);
        out
    }
}
