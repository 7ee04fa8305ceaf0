"""EKS as AWS runs it where moto 5.2.5 lacks or differs, patched into moto (imported by
moto_server.py).

Access entries, which moto lacks (it has no route for them): CreateAccessEntry,
DescribeAccessEntry, ListAccessEntries and DeleteAccessEntry, and the access policies associated
with one (AssociateAccessPolicy, ListAssociatedAccessPolicies), as EKS's API reference documents
them: `clusterName` and `principalArn` in; `accessEntry` (`clusterName`, `principalArn`,
`kubernetesGroups`, `accessEntryArn`, `username`, `type`, `createdAt`, `modifiedAt`) out;
`ResourceNotFoundException` for a cluster or an entry that is not there, `ResourceInUseException`
for a second entry of one principal. A cluster says how it authenticates
(`accessConfig.authenticationMode`): `API_AND_CONFIG_MAP` unless it was created with another.
Pod identity associations likewise (CreatePodIdentityAssociation, ListPodIdentityAssociations,
DescribePodIdentityAssociation, DeletePodIdentityAssociation; one per service account). They
are stand-ins: what they answer is what AWS's API reference says, not what AWS was seen to
answer.

A cluster names its subnets' VPC (`resourcesVpcConfig.vpcId`), as EKS does. UpdateClusterConfig merges the endpoint's access into the cluster's VPC configuration, as EKS
does (moto replaces the whole configuration with the members given, losing the VPC and its
subnets), and answers the `update` EKS starts (here already `Successful`: the emulator applies
it at once, where EKS takes minutes).
"""

import uuid

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.eks import models as eks_models
from moto.eks import responses, urls
from moto.eks.exceptions import ResourceInUseException, ResourceNotFoundException

_Backend = eks_models.EKSBackend
_create_cluster = _Backend.create_cluster


def _not_found(message, cluster=None):
    return ResourceNotFoundException(
        clusterName=cluster,
        nodegroupName=None,
        fargateProfileName=None,
        addonName=None,
        message=message,
    )


def create_cluster(self, *args, **kwargs):
    access_config = kwargs.pop("access_config", None)
    cluster = _create_cluster(self, *args, **kwargs)
    mode = (access_config or {}).get("authenticationMode") or "API_AND_CONFIG_MAP"
    cluster.access_config = {"authenticationMode": mode}
    vpc = cluster.resources_vpc_config
    if "vpcId" not in vpc and vpc.get("subnetIds"):
        # EKS names the subnets' VPC (moto does not).
        try:
            subnet = ec2_backends[self.account_id][self.region_name].get_subnet(
                vpc["subnetIds"][0]
            )
            vpc["vpcId"] = subnet.vpc_id
        except Exception:  # a subnet moto does not have: no VPC named, as before
            pass
    cluster.resources_vpc_config.setdefault("endpointPublicAccess", True)
    cluster.resources_vpc_config.setdefault("endpointPrivateAccess", False)
    return cluster


_Backend.create_cluster = create_cluster


def _cluster(self):
    name = self._get_param("name") or self._get_param("clusterName")
    cluster = self.eks_backend.clusters.get(name)
    if cluster is None:
        raise _not_found(f"No cluster found for name: {name}.", name)
    return cluster


def _entries(cluster):
    if not hasattr(cluster, "access_entries"):
        cluster.access_entries = {}
    return cluster.access_entries


def _create_cluster_response(self):
    access_config = self._get_param("accessConfig")
    cluster = _original_create_cluster_response(self)
    if access_config:
        c = self.eks_backend.clusters[self._get_param("name")]
        c.access_config = {
            "authenticationMode": access_config.get("authenticationMode")
            or "API_AND_CONFIG_MAP"
        }
    return cluster


_original_create_cluster_response = responses.EKSResponse.create_cluster


def create_access_entry(self):
    cluster = _cluster(self)
    principal = self._get_param("principalArn")
    entries = _entries(cluster)
    if principal in entries:
        raise ResourceInUseException(
            clusterName=cluster.name,
            nodegroupName=None,
            addonName=None,
            message="The specified access entry resource is already in use on this cluster.",
        )
    now = utcnow().isoformat()
    entries[principal] = {
        "clusterName": cluster.name,
        "principalArn": principal,
        "kubernetesGroups": self._get_param("kubernetesGroups") or [],
        "accessEntryArn": f"{cluster.arn.replace(':cluster/', ':access-entry/')}/{uuid.uuid4()}",
        "username": self._get_param("username") or principal,
        "type": self._get_param("type") or "STANDARD",
        "createdAt": now,
        "modifiedAt": now,
        "tags": self._get_param("tags") or {},
    }
    return ActionResult({"accessEntry": entries[principal]})


def _entry(self):
    cluster = _cluster(self)
    principal = self._get_param("principalArn")
    entry = _entries(cluster).get(principal)
    if entry is None:
        raise _not_found("The specified access entry resource is not found.", cluster.name)
    return cluster, principal, entry


def describe_access_entry(self):
    return ActionResult({"accessEntry": _entry(self)[2]})


def delete_access_entry(self):
    cluster, principal, _ = _entry(self)
    del _entries(cluster)[principal]
    _policies(cluster).pop(principal, None)
    return ActionResult({})


# The access policies associated with an entry (AssociateAccessPolicy,
# ListAssociatedAccessPolicies), which moto lacks too: `policyArn` and `accessScope` (`type`,
# `namespaces`) in; one association per policy, replaced when associated again; gone with the
# entry. A stand-in, like the entries.
def _policies(cluster):
    if not hasattr(cluster, "access_policies"):
        cluster.access_policies = {}
    return cluster.access_policies


def associate_access_policy(self):
    cluster, principal, _ = _entry(self)
    now = utcnow().isoformat()
    scope = self._get_param("accessScope") or {}
    policy = {
        "policyArn": self._get_param("policyArn"),
        "accessScope": {
            "type": scope.get("type", "cluster"),
            "namespaces": scope.get("namespaces") or [],
        },
        "associatedAt": now,
        "modifiedAt": now,
    }
    policies = _policies(cluster).setdefault(principal, {})
    policies[policy["policyArn"]] = policy
    return ActionResult(
        {
            "clusterName": cluster.name,
            "principalArn": principal,
            "associatedAccessPolicy": policy,
        }
    )


def list_associated_access_policies(self):
    cluster, principal, _ = _entry(self)
    return ActionResult(
        {
            "clusterName": cluster.name,
            "principalArn": principal,
            "associatedAccessPolicies": list(_policies(cluster).get(principal, {}).values()),
        }
    )


def list_access_entries(self):
    return ActionResult({"accessEntries": sorted(_entries(_cluster(self)))})


def update_cluster_config(self):
    cluster = _cluster(self)
    vpc = self._get_param("resourcesVpcConfig") or {}
    params = []
    for key, kind in [
        ("endpointPublicAccess", "EndpointPublicAccess"),
        ("endpointPrivateAccess", "EndpointPrivateAccess"),
        ("publicAccessCidrs", "PublicAccessCidrs"),
    ]:
        if key in vpc:
            cluster.resources_vpc_config[key] = vpc[key]
            params.append({"type": kind, "value": str(vpc[key]).lower()})
    return ActionResult(
        {
            "update": {
                "id": str(uuid.uuid4()),
                "status": "Successful",
                "type": "EndpointAccessUpdate",
                "params": params,
                "createdAt": utcnow().isoformat(),
                "errors": [],
            }
        }
    )


def describe_cluster(self):
    cluster = _cluster(self)
    if not hasattr(cluster, "access_config"):
        cluster.access_config = {"authenticationMode": "API_AND_CONFIG_MAP"}
    return ActionResult({"cluster": cluster})


responses.EKSResponse.create_cluster = _create_cluster_response
responses.EKSResponse.create_access_entry = create_access_entry
responses.EKSResponse.describe_access_entry = describe_access_entry
responses.EKSResponse.delete_access_entry = delete_access_entry
responses.EKSResponse.list_access_entries = list_access_entries
responses.EKSResponse.associate_access_policy = associate_access_policy
responses.EKSResponse.list_associated_access_policies = list_associated_access_policies
responses.EKSResponse.update_cluster_config = update_cluster_config
responses.EKSResponse.describe_cluster = describe_cluster

urls.url_paths["{0}/clusters/(?P<name>[^/]+)/access-entries$"] = urls.response.dispatch
urls.url_paths["{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<principalArn>.+)$"] = (
    urls.response.dispatch
)


# Pod identity associations, which moto lacks: CreatePodIdentityAssociation,
# ListPodIdentityAssociations (by namespace and service account), DescribePodIdentityAssociation
# and DeletePodIdentityAssociation, as EKS's API reference documents them. A stand-in, like the
# access entries above.
def _associations(cluster):
    if not hasattr(cluster, "pod_identity_associations"):
        cluster.pod_identity_associations = {}
    return cluster.pod_identity_associations


def create_pod_identity_association(self):
    cluster = _cluster(self)
    namespace = self._get_param("namespace")
    account = self._get_param("serviceAccount")
    associations = _associations(cluster)
    if any(
        a["namespace"] == namespace and a["serviceAccount"] == account
        for a in associations.values()
    ):
        raise ResourceInUseException(
            clusterName=cluster.name,
            nodegroupName=None,
            addonName=None,
            message="Association already exists for this service account.",
        )
    association_id = "a-" + uuid.uuid4().hex[:17]
    now = utcnow().isoformat()
    associations[association_id] = {
        "clusterName": cluster.name,
        "namespace": namespace,
        "serviceAccount": account,
        "roleArn": self._get_param("roleArn"),
        "associationArn": f"{cluster.arn.replace(':cluster/', ':podidentityassociation/')}/{association_id}",
        "associationId": association_id,
        "tags": self._get_param("tags") or {},
        "createdAt": now,
        "modifiedAt": now,
    }
    return ActionResult({"association": associations[association_id]})


def list_pod_identity_associations(self):
    cluster = _cluster(self)
    namespace = self._get_param("namespace")
    account = self._get_param("serviceAccount")
    found = [
        {
            k: a[k]
            for k in (
                "clusterName",
                "namespace",
                "serviceAccount",
                "associationArn",
                "associationId",
            )
        }
        for a in _associations(cluster).values()
        if (namespace is None or a["namespace"] == namespace)
        and (account is None or a["serviceAccount"] == account)
    ]
    return ActionResult({"associations": found})


def _association(self):
    cluster = _cluster(self)
    association_id = self._get_param("associationId")
    association = _associations(cluster).get(association_id)
    if association is None:
        raise _not_found(
            f"No Pod Identity Association found with id {association_id}.", cluster.name
        )
    return cluster, association_id, association


def describe_pod_identity_association(self):
    return ActionResult({"association": _association(self)[2]})


def delete_pod_identity_association(self):
    cluster, association_id, association = _association(self)
    del _associations(cluster)[association_id]
    return ActionResult({"association": association})


responses.EKSResponse.create_pod_identity_association = create_pod_identity_association
responses.EKSResponse.list_pod_identity_associations = list_pod_identity_associations
responses.EKSResponse.describe_pod_identity_association = describe_pod_identity_association
responses.EKSResponse.delete_pod_identity_association = delete_pod_identity_association

urls.url_paths["{0}/clusters/(?P<name>[^/]+)/pod-identity-associations$"] = (
    urls.response.dispatch
)
urls.url_paths[
    "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations/(?P<associationId>[^/]+)$"
] = urls.response.dispatch
