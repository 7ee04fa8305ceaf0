"""S3's authorisation of object requests by a bucket policy, patched into moto (imported by
moto_server.py), for `s3.quarantine_object`, whose deny is on a tag.

moto 5.2.5 checks a bucket policy for an object request under one action per HTTP method
(`s3:GetObject` for every GET: reading an object's tags is denied by a deny of reading the
object), and takes a condition it cannot evaluate as holding (a deny on objects with a tag
denies every object). S3 names the request's own action (`s3:GetObjectTagging`,
`s3:GetObjectVersion`, ...) and evaluates `s3:ExistingObjectTag/<key>` against the object's
tags. This wrapper does both for object requests; a statement with other conditions is left as
moto takes it. moto cannot tell who calls when it checks a bucket policy, and applies a
statement naming one principal to every caller: here a statement for everyone (`"*"`) applies,
one naming principals is taken as not naming the caller (the tests call as the account, never
as a principal a policy denies).
"""

import contextvars
import json

from moto.iam.access_control import IAMPolicy
from moto.s3 import models, responses

_request = contextvars.ContextVar("firebreak_s3_request", default=None)
_TAG = "s3:ExistingObjectTag/"

_key_response = responses.S3Response._key_response


def _remember(self, request, full_url):
    from urllib.parse import parse_qs, urlparse

    query = parse_qs(urlparse(full_url).query, keep_blank_values=True)
    token = _request.set((request.method, query, self.parse_key_name()))
    try:
        return _key_response(self, request, full_url)
    finally:
        _request.reset(token)


def _action(method, query):
    """The action S3 authorises an object request as."""
    version = "Version" if "versionId" in query else ""
    for sub, name in (("tagging", "Tagging"), ("acl", "Acl")):
        if sub in query:
            verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method)
            return verb and f"s3:{verb}Object{version}{name}"
    return {
        "GET": f"s3:GetObject{version}",
        "HEAD": f"s3:GetObject{version}",
        "PUT": "s3:PutObject",
        "DELETE": f"s3:DeleteObject{version}",
    }.get(method)


def _tags(bucket, key_name, query):
    backend = models.s3_backends[bucket.account_id][bucket.partition]
    version = query.get("versionId", [None])[0]
    key = backend.get_object(bucket.name, key_name, version_id=version)
    if key is None:
        return {}
    return backend.tagger.get_tag_dict_for_resource(key.arn)


def _holds(statement, tags):
    """Whether a statement's tag conditions hold for an object with `tags` (True when it has
    none); its other conditions are left to moto."""
    for operator, pairs in statement.get("Condition", {}).items():
        for name, wanted in pairs.items():
            if not name.startswith(_TAG):
                continue
            have = tags.get(name[len(_TAG):])
            wanted = wanted if isinstance(wanted, list) else [wanted]
            if operator == "StringEquals" and have not in wanted:
                return False
            if operator == "StringNotEquals" and have in wanted:
                return False
    return True


_get_permission = models.FakeBucket.get_permission


def _permission(self, action, resource):
    seen = _request.get()
    if self.policy is None or seen is None:
        return _get_permission(self, action, resource)
    method, query, key_name = seen
    action = _action(method, query) or action
    policy = json.loads(self.policy.decode())
    statements = policy["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    tags = _tags(self, key_name, query)
    kept = []
    for s in statements:
        if s.get("Principal") not in ("*", {"AWS": "*"}) or not _holds(s, tags):
            continue
        s = dict(s)
        # The tag conditions are settled; moto would take them as holding.
        condition = {
            op: {k: v for k, v in pairs.items() if not k.startswith(_TAG)}
            for op, pairs in s.get("Condition", {}).items()
        }
        condition = {op: pairs for op, pairs in condition.items() if pairs}
        if condition:
            s["Condition"] = condition
        else:
            s.pop("Condition", None)
        kept.append(s)
    policy["Statement"] = kept
    return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)


responses.S3Response._key_response = _remember
models.FakeBucket.get_permission = _permission
