"""AWS Backup's recovery points and backup vault access policies, which moto 5.2.5 lacks,
patched into moto (imported by moto_server.py).

StartBackupJob makes a recovery point of the resource in the vault at once (`COMPLETED`, where
AWS Backup takes minutes), under an ARN in AWS Backup's own form
(`arn:aws:backup:REGION:ACCOUNT:recovery-point:ID`), or, for an EBS volume, as an EBS snapshot
of it under the snapshot's ARN, and for an EC2 instance as an AMI of it, as AWS Backup does; DescribeRecoveryPoint answers it and
DeleteRecoveryPoint deletes it (with its snapshot or AMI).
GetBackupVaultAccessPolicy, PutBackupVaultAccessPolicy and DeleteBackupVaultAccessPolicy keep
a vault's policy as the JSON text given. `ResourceNotFoundException` answers a vault, a recovery
point or a policy that is not there. ListTags reads the ARN whether or not the path ends in `/`
(moto's needs the `/`, which the AWS SDK for Rust does not send). They are stand-ins written from AWS Backup's API
reference: what they answer is what it documents, not what AWS was seen to answer; a vault
policy is kept, not enforced.
"""

import json
import uuid
from urllib.parse import unquote

from moto.backup import responses, urls
from moto.backup.exceptions import ResourceNotFoundException
from moto.core.utils import unix_time
from moto.ec2.models import ec2_backends


def _vault(self, name):
    return self.backup_backend.describe_backup_vault(name)


def _points(vault):
    if not hasattr(vault, "recovery_points"):
        vault.recovery_points = {}
    return vault.recovery_points


def _parts(self):
    """The path's parts after `backup-vaults`: the vault's name, then the rest (unquoted)."""
    parts = self.path.split("?")[0].split("/")
    at = parts.index("backup-vaults")
    return [unquote(p) for p in parts[at + 1 :]]


def start_backup_job(self):
    params = json.loads(self.body)
    vault = _vault(self, params["BackupVaultName"])
    resource = params["ResourceArn"]
    if ":volume/" in resource:
        # An EBS volume's recovery point is an EBS snapshot, under the snapshot's ARN, as
        # AWS Backup makes one (outside a logically air-gapped vault).
        ec2 = ec2_backends[self.current_account][self.region]
        snapshot = ec2.create_snapshot(
            resource.rsplit("/", 1)[1], "This snapshot is created by the AWS Backup service."
        )
        arn = f"arn:aws:ec2:{self.region}::snapshot/{snapshot.id}"
    elif ":instance/" in resource:
        # An EC2 instance's is an AMI of it, likewise.
        ec2 = ec2_backends[self.current_account][self.region]
        image = ec2.create_image(
            resource.rsplit("/", 1)[1],
            f"AwsBackup_{uuid.uuid4()}",
            "This image is created by the AWS Backup service.",
            [],
        )
        arn = f"arn:aws:ec2:{self.region}::image/{image.id}"
    else:
        arn = f"arn:aws:backup:{self.region}:{self.current_account}:recovery-point:{uuid.uuid4()}"

    # The service of the resource's ARN, as AWS Backup names resource types (`EBS` for a
    # volume, `EC2` for an instance, `S3` for a bucket).
    service = resource.split(":")[2] if resource.count(":") > 2 else ""
    kind = {"ec2": "EC2", "s3": "S3"}.get(service, service.upper())
    if ":volume/" in resource:
        kind = "EBS"
    now = unix_time()
    _points(vault)[arn] = {
        "RecoveryPointArn": arn,
        "BackupVaultName": vault.backup_vault_name,
        "BackupVaultArn": vault.backup_vault_arn,
        "ResourceArn": resource,
        "ResourceType": kind,
        "IamRoleArn": params.get("IamRoleArn"),
        "Status": "COMPLETED",
        "CreationDate": now,
        "CompletionDate": now,
        "Lifecycle": params.get("Lifecycle") or {},
    }
    vault.num_of_recovery_points = len(_points(vault))
    return json.dumps(
        {"BackupJobId": str(uuid.uuid4()), "RecoveryPointArn": arn, "CreationDate": now}
    )


def describe_recovery_point(self):
    name, arn = _parts(self)[0], "/".join(_parts(self)[2:])
    point = _points(_vault(self, name)).get(arn)
    if point is None:
        raise ResourceNotFoundException(f"Recovery point {arn} not found")
    return json.dumps(point)


def delete_recovery_point(self):
    name, arn = _parts(self)[0], "/".join(_parts(self)[2:])
    vault = _vault(self, name)
    if _points(vault).pop(arn, None) is None:
        raise ResourceNotFoundException(f"Recovery point {arn} not found")
    # An EBS or EC2 recovery point's snapshot or AMI goes with it, as on AWS.
    ec2 = ec2_backends[self.current_account][self.region]
    if ":snapshot/" in arn:
        ec2.delete_snapshot(arn.rsplit("/", 1)[1])
    elif ":image/" in arn:
        ec2.deregister_image(arn.rsplit("/", 1)[1])
    vault.num_of_recovery_points = len(_points(vault))
    return "{}"


def _policy_vault(self):
    return _vault(self, _parts(self)[0])


def get_backup_vault_access_policy(self):
    vault = _policy_vault(self)
    policy = getattr(vault, "access_policy", None)
    if policy is None:
        raise ResourceNotFoundException(
            f"Backup vault {vault.backup_vault_name} has no access policy"
        )
    return json.dumps(
        {
            "BackupVaultName": vault.backup_vault_name,
            "BackupVaultArn": vault.backup_vault_arn,
            "Policy": policy,
        }
    )


def put_backup_vault_access_policy(self):
    vault = _policy_vault(self)
    vault.access_policy = json.loads(self.body).get("Policy")
    return "{}"


def delete_backup_vault_access_policy(self):
    vault = _policy_vault(self)
    vault.access_policy = None
    return "{}"


def list_tags(self):
    # moto takes the ARN from before a trailing `/` the AWS SDK for Rust does not send.
    arn = unquote(self.path.split("?")[0].split("/tags/", 1)[1].rstrip("/"))
    return json.dumps({"Tags": self.backup_backend.list_tags(resource_arn=arn)})


responses.BackupResponse.list_tags = list_tags
responses.BackupResponse.start_backup_job = start_backup_job
responses.BackupResponse.describe_recovery_point = describe_recovery_point
responses.BackupResponse.delete_recovery_point = delete_recovery_point
responses.BackupResponse.get_backup_vault_access_policy = get_backup_vault_access_policy
responses.BackupResponse.put_backup_vault_access_policy = put_backup_vault_access_policy
responses.BackupResponse.delete_backup_vault_access_policy = delete_backup_vault_access_policy

urls.url_paths["{0}/backup-jobs$"] = urls.response.dispatch
urls.url_paths["{0}/backup-vaults/(?P<name>[^/]+)/access-policy$"] = urls.response.dispatch
urls.url_paths["{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<arn>.+)$"] = (
    urls.response.dispatch
)
