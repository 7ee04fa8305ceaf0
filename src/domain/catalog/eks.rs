//! The EKS actions' catalog entries.

use super::specs::{out, req, wait};
use super::*;
use crate::domain::define;

const CLUSTER: Param = req("cluster", Type::String, "EKS cluster name");

pub(super) const CAPTURE_CLUSTER: &Spec = &Spec {
    name: "eks.capture_cluster",
    doc: "Record an EKS cluster: its version, role, API endpoint access, VPC, logging, tags and how it authenticates IAM principals.",
    undo: "",
    effect: Effect::Capture,
    params: &[CLUSTER],
    outputs: &[
        out("cluster_arn", Type::String, "the cluster's ARN"),
        out("status", Type::String, "ACTIVE, UPDATING, …"),
        out("vpc_id", Type::String, "its VPC"),
        out(
            "endpoint_public_access",
            Type::Boolean,
            "whether its API endpoint answers from the internet",
        ),
        out(
            "authentication_mode",
            Type::String,
            "CONFIG_MAP (the aws-auth ConfigMap only), API (access entries only) or API_AND_CONFIG_MAP",
        ),
    ],
    fixed_tags: &[],
    how: How::Defined(&define::eks::CAPTURE_CLUSTER),
};

pub(super) const RESTRICT_ENDPOINT: &Spec = &Spec {
    name: "eks.restrict_endpoint",
    doc: "Take an EKS cluster's API endpoint off the internet (opt-in): public access off, private access on, so that only the cluster's VPC reaches it. Waits until EKS has applied it (minutes).",
    undo: "Once the cluster is clean: `aws eks update-cluster-config --name {cluster} --resources-vpc-config endpointPublicAccess=true` (with `publicAccessCidrs=…` to allow only your addresses).",
    effect: Effect::Contain,
    params: &[CLUSTER, wait("wait until the endpoint reads back private")],
    outputs: &[],
    fixed_tags: &[],
    how: How::Defined(&define::eks::RESTRICT_ENDPOINT),
};

pub(super) const DELETE_ACCESS_ENTRY: &Spec = &Spec {
    name: "eks.delete_access_entry",
    doc: "Delete an IAM principal's access entry in an EKS cluster (and the access policies associated with it): its credentials no longer let it into the cluster. Nothing to do when it has none; a cluster EKS does not have fails.",
    undo: "`aws eks create-access-entry --cluster-name {cluster} --principal-arn {principal_arn}` with the Kubernetes groups and user name in this step's evidence, then `aws eks associate-access-policy` for each access policy the principal needs of the ones it had: {access_policy_arns} (their scopes are in this step's evidence, pre_state).",
    effect: Effect::Contain,
    params: &[
        CLUSTER,
        req(
            "principal_arn",
            Type::String,
            "the IAM role's or user's ARN, as the access entry names it",
        ),
    ],
    outputs: &[
        out(
            "kubernetes_username",
            Type::String,
            "the Kubernetes user name the entry gave (empty: none)",
        ),
        out(
            "access_policy_arns",
            Type::StringList,
            "the EKS access policies associated with the entry, deleted with it",
        ),
    ],
    fixed_tags: &[],
    how: How::Defined(&define::eks::DELETE_ACCESS_ENTRY),
};

pub(super) const DELETE_POD_IDENTITY_ASSOCIATION: &Spec = &Spec {
    name: "eks.delete_pod_identity_association",
    doc: "Delete the pod identity association of a Kubernetes service account in an EKS cluster: its pods get no more credentials of its IAM role. Nothing to do when it has none; a cluster EKS does not have fails.",
    undo: "`aws eks create-pod-identity-association --cluster-name {cluster} --namespace {namespace} --service-account {service_account} --role-arn {role_arn}` once the workload is clean.",
    effect: Effect::Contain,
    params: &[
        CLUSTER,
        req("namespace", Type::String, "the service account's namespace"),
        req(
            "service_account",
            Type::String,
            "the service account's name",
        ),
    ],
    outputs: &[
        out(
            "role_arn",
            Type::String,
            "the IAM role the association gave (empty: none)",
        ),
        out(
            "role_name",
            Type::String,
            "that role's name (empty: none, or gone from IAM)",
        ),
    ],
    fixed_tags: &[],
    how: How::Defined(&define::eks::DELETE_POD_IDENTITY_ASSOCIATION),
};
