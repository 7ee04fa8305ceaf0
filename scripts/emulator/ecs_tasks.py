"""ECS tasks as AWS runs them where moto 5.2.5 differs, patched into moto (imported by
moto_server.py).

Task scale-in protection, which moto lacks (it answers UpdateTaskProtection and
GetTaskProtection as not implemented), as ECS documents it: `cluster`, `tasks`, `protectionEnabled` and `expiresInMinutes` (1 to 2,880; 120
when not given) in; `protectedTasks` (`taskArn`, `protectionEnabled`, `expirationDate`) and
`failures` (`arn`, `reason`: `MISSING` for a task the cluster does not have, `TASK_NOT_VALID`
for one no service started, which only a service's scheduler would replace) out. The protection
is kept on moto's task; a task that stops loses it. It is a stand-in: what it answers is what
AWS's API reference says, not what AWS was seen to answer.

A task stays RUNNING until it is stopped (moto moves it on each time it is described), and a
task in `awsvpc` mode (every Fargate task) gets its network interface (moto fails to describe
the one it makes). A service runs its tasks (below). And a state machine's calls of ECS are translated as Step Functions does
(below).
"""

from datetime import datetime, timedelta, timezone

import botocore.session
from botocore import xform_name

from moto.core.responses import ActionResult
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ecs import models as ecs_models
from moto.ecs import responses
from moto.ecs.exceptions import InvalidParameterException
from moto.moto_api import state_manager
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as sdk_task,
)

_DEFAULT_MINUTES = 120
_MAX_MINUTES = 2880


def _find(self):
    """The tasks asked for that the cluster has (moto's tasks), and failures for the others."""
    cluster = self.ecs_backend._get_cluster(self._get_param("cluster", "default"))
    wanted = self._get_param("tasks", None)
    tasks = self.ecs_backend.tasks.get(cluster.name, {})
    if wanted is None:
        return [t for t in tasks.values() if (t.group or "").startswith("service:")], []
    found, failures = [], []
    for w in wanted:
        task = next(
            (t for arn, t in tasks.items() if w in (arn, t.id)),
            None,
        )
        if task is None:
            failures.append({"arn": w, "reason": "MISSING"})
        elif not (task.group or "").startswith("service:"):
            failures.append({"arn": task.task_arn, "reason": "TASK_NOT_VALID"})
        else:
            found.append(task)
    return found, failures


def _answer(tasks, failures):
    protected = []
    for t in tasks:
        until = getattr(t, "_firebreak_protected_until", None)
        stopped = t.last_status == "STOPPED" or t.desired_status == "STOPPED"
        if until is not None and (stopped or until <= datetime.now(timezone.utc)):
            until = None
        entry = {"taskArn": t.task_arn, "protectionEnabled": until is not None}
        if until is not None:
            entry["expirationDate"] = until
        protected.append(entry)
    return ActionResult({"protectedTasks": protected, "failures": failures})


def update_task_protection(self):
    enabled = self._get_param("protectionEnabled")
    if not isinstance(enabled, bool):
        raise InvalidParameterException("protectionEnabled is required.")
    minutes = self._get_param("expiresInMinutes", _DEFAULT_MINUTES)
    if not 1 <= int(minutes) <= _MAX_MINUTES:
        raise InvalidParameterException(
            f"expiresInMinutes must be between 1 and {_MAX_MINUTES}."
        )
    tasks, failures = _find(self)
    for t in tasks:
        t._firebreak_protected_until = (
            datetime.now(timezone.utc) + timedelta(minutes=int(minutes))
            if enabled
            else None
        )
    return _answer(tasks, failures)


def get_task_protection(self):
    return _answer(*_find(self))


responses.EC2ContainerServiceResponse.update_task_protection = update_task_protection
responses.EC2ContainerServiceResponse.get_task_protection = get_task_protection

# moto moves a task on from RUNNING each time DescribeTasks reads it (towards STOPPED); on
# AWS a task runs until it is stopped. Here it stays RUNNING until StopTask.
state_manager.register_default_transition(
    "ecs::task", {"progression": "manual", "times": 10**9}
)

# moto describes a task's interface by a private DNS name that only some of its interfaces
# are given (an instance's): the others get the name EC2 gives.
def _dns_name(eni):
    given = eni.__dict__.get("_firebreak_dns_name")
    return given or "ip-{}.ec2.internal".format((eni.private_ip_address or "").replace(".", "-"))


def _set_dns_name(eni, name):
    eni.__dict__["_firebreak_dns_name"] = name


NetworkInterface.private_dns_name = property(_dns_name, _set_dns_name)


# Step Functions' SDK integrations take and give members in PascalCase (`Cluster`, `Tasks`,
# `TaskDefinitionArn`) and translate them to and from each API's own names; moto's Step
# Functions passes them through, which only works for APIs whose members are PascalCase. ECS's
# are camelCase (`cluster`, `taskDefinitionArn`): here its calls are translated as Step
# Functions does, by the operation's shapes.
_SdkTask = sdk_task.StateTaskServiceAwsSdk


def _operation(self):
    model = botocore.session.get_session().get_service_model(self._get_boto_service_name())
    action = self._get_boto_service_action()
    name = next(n for n in model.operation_names if xform_name(n) == action)
    return model.operation_model(name)


# EKS's members are camelCase too (`name`, `resourcesVpcConfig`).
_CAMEL = ("ecs", "eks")


def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
    if self.resource.api_name in _CAMEL:
        self._to_boto_request(parameters, _operation(self).input_shape)


def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
    if self.resource.api_name in _CAMEL:
        self._from_boto_response(response, _operation(self).output_shape)


_SdkTask._normalise_parameters = _normalise_parameters
_SdkTask._normalise_response = _normalise_response


# A service runs its desired count of tasks (moto's runs none): each started by the service's
# deployment, in the group `service:NAME`, with the service's network configuration; listing
# a service's tasks finds them, and deleting the service stops them.
_Backend = ecs_models.EC2ContainerServiceBackend
_create_service = _Backend.create_service
_list_tasks = _Backend.list_tasks
_delete_service = _Backend.delete_service


def create_service(self, cluster_str, service_name, desired_count, task_definition_str=None, *args, **kwargs):
    service = _create_service(
        self, cluster_str, service_name, desired_count, task_definition_str, *args, **kwargs
    )
    if task_definition_str and desired_count:
        deployment = (service.deployments or [{}])[0].get("id", "ecs-svc/0")
        self.run_task(
            cluster_str,
            task_definition_str,
            desired_count,
            None,
            deployment,
            None,
            service.launch_type,
            networking_configuration=kwargs.get("network_configuration"),
            group=f"service:{service.name}",
        )
    return service


def list_tasks(
    self,
    cluster_str=None,
    container_instance=None,
    family=None,
    started_by=None,
    service_name=None,
    desiredStatus=None,
):
    tasks = _list_tasks(
        self, cluster_str, container_instance, family, started_by, None, desiredStatus
    )
    service = service_name
    if service:
        tasks = [t for t in tasks if t.group == f"service:{service.split('/')[-1]}"]
    return tasks


def delete_service(self, cluster_name, service_name, force):
    service = _delete_service(self, cluster_name, service_name, force)
    for task in self.tasks.get(service.cluster_name, {}).values():
        if task.group == f"service:{service.name}":
            task.last_status = "STOPPED"
            task.desired_status = "STOPPED"
    return service


_Backend.create_service = create_service
_Backend.list_tasks = list_tasks
_Backend.delete_service = delete_service
