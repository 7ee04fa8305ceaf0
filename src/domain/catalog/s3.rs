//! The S3 actions' catalog entries.

use super::specs::{opt, out, req};
use super::*;
use crate::domain::define;

const BUCKET: Param = req("bucket", Type::String, "S3 bucket name");

const OWNER: Param = opt(
    "expected_owner",
    Type::String,
    None,
    "account id that must own the bucket (ExpectedBucketOwner); use the finding's accountId",
);

pub(super) const CAPTURE_BUCKET: &Spec = &Spec {
    name: "s3.capture_bucket",
    doc: "Record the bucket's policy, ACL, public access block, versioning and ownership controls.",
    undo: "",
    effect: Effect::Capture,
    params: &[BUCKET, OWNER],
    outputs: &[
        out(
            "has_policy",
            Type::Boolean,
            "whether a bucket policy exists",
        ),
        out("versioning", Type::String, "Enabled, Suspended or empty"),
    ],
    fixed_tags: &[],
    how: How::Defined(&define::s3::CAPTURE_BUCKET),
};

pub(super) const BLOCK_PUBLIC_ACCESS: &Spec = &Spec {
    name: "s3.block_public_access",
    doc: "Turn on all four S3 Block Public Access flags for the bucket.",
    undo: "Only if the bucket must be public: `aws s3api delete-public-access-block --bucket {bucket}` (the settings before are in this step's evidence, pre_state).",
    effect: Effect::Contain,
    params: &[BUCKET, OWNER],
    outputs: &[],
    fixed_tags: &[],
    how: How::Defined(&define::s3::BLOCK_PUBLIC_ACCESS),
};

pub(super) const DENY_PRINCIPAL: &Spec = &Spec {
    name: "s3.deny_principal",
    doc: "Add a statement to the bucket policy that denies one principal every S3 action on the bucket and its objects, keeping every existing statement.",
    undo: "Remove the statement that denies {principal_arn} from the bucket policy of {bucket}: `aws s3api get-bucket-policy`, edit, `put-bucket-policy` (the policy before is in this step's evidence, pre_state).",
    effect: Effect::Contain,
    params: &[
        BUCKET,
        req(
            "principal_arn",
            Type::String,
            "ARN of the IAM user or role to deny",
        ),
        OWNER,
    ],
    outputs: &[],
    fixed_tags: &[],
    how: How::Defined(&define::s3::DENY_PRINCIPAL),
};

pub(super) const ENABLE_VERSIONING: &Spec = &Spec {
    name: "s3.enable_versioning",
    doc: "Turn on versioning so later writes and deletes cannot destroy objects.",
    undo: "Versioning cannot be turned off, only suspended: `aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Suspended`.",
    effect: Effect::Contain,
    params: &[BUCKET, OWNER],
    outputs: &[out(
        "previous_status",
        Type::String,
        "Enabled, Suspended or empty before",
    )],
    fixed_tags: &[],
    how: How::Defined(&define::s3::ENABLE_VERSIONING),
};

pub(super) const QUARANTINE_OBJECT: &Spec = &Spec {
    name: "s3.quarantine_object",
    doc: "Quarantine an object with malware: tag it `firebreak:quarantine=true` (its other tags kept) and add one statement to the bucket policy that denies everyone reading objects so tagged, or changing their tags (every existing statement kept).",
    undo: "Once the case is closed, delete {key} from {bucket}, or remove the statement that denies reading objects tagged firebreak:quarantine from the bucket policy and then the tag (the tags and policy before are in this step's evidence, pre_state).",
    effect: Effect::Contain,
    params: &[
        BUCKET,
        req("key", Type::String, "object key"),
        opt(
            "version_id",
            Type::String,
            None,
            "the version scanned (the finding's versionId); the current one when not given",
        ),
        opt(
            "partition",
            Type::String,
            Some("\"aws\""),
            "the bucket's partition (aws, aws-cn, aws-us-gov)",
        ),
        OWNER,
    ],
    outputs: &[],
    fixed_tags: &[],
    how: How::Defined(&define::s3::QUARANTINE_OBJECT),
};

pub(super) const COPY_TO_QUARANTINE: &Spec = &Spec {
    name: "s3.copy_to_quarantine",
    doc: "Copy the version of an object with malware into a quarantine bucket made with Object Lock, under `<finding id>/<bucket>/<key>`, and put the copy under legal hold: the evidence outlives the original, and nobody deletes it until the hold is lifted. Runs before `s3.quarantine_object` (which denies reading the object, firebreak included).",
    undo: "Once the case is closed: `aws s3api put-object-legal-hold --bucket {quarantine_bucket} --key <key> --legal-hold Status=OFF`, then delete the copy (its key and version are in this step's evidence).",
    effect: Effect::Contain,
    params: &[
        BUCKET,
        req("key", Type::String, "object key"),
        req(
            "version_id",
            Type::String,
            "the version scanned (the finding's versionId; `null` for an object of a bucket that never had versioning)",
        ),
        req(
            "quarantine_bucket",
            Type::String,
            "the bucket the copy goes to; made with Object Lock (`create-bucket --object-lock-enabled-for-bucket`)",
        ),
        OWNER,
    ],
    outputs: &[out(
        "copy_version_id",
        Type::String,
        "the version of the copy in the quarantine bucket",
    )],
    fixed_tags: &[],
    how: How::Defined(&define::s3::COPY_TO_QUARANTINE),
};
