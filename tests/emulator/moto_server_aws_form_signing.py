"""moto's server with one fix to its IAM enforcement, for the least-privilege tests.

With enforcement on, moto re-computes each request's SigV4 signature. For a form-encoded
(query-protocol) POST it has no raw body any more, so it re-encodes the parsed parameters
with `+` for spaces; the AWS SDKs (the Rust SDK included) and AWS itself use RFC 3986 (`%20`).
Every EC2/IAM/SNS request with a space in a value (a snapshot or security-group description)
is then refused with AuthFailure/SignatureDoesNotMatch although its signature is right.
This wrapper re-encodes those parameters the AWS way before moto signs them. A second fix: for
a REST request without a body (Lambda's GETs), moto signs the request's headers as if they were
a form body, so every such request is refused; the wrapper signs the empty body the SDK signed
(for EKS's and AWS Backup's too).
Object requests are authorised by a bucket policy as S3 does (scripts/emulator/s3_objects.py),
ECS tasks run as scripts/emulator/ecs_tasks.py says (task protection among them), EKS
clusters as scripts/emulator/eks_clusters.py says (access entries among them), and AWS
Backup's recovery points as scripts/emulator/backup_points.py says.
Everything else is moto 5.2.5 as installed by scripts/ensure-moto.

    python moto_server_aws_form_signing.py -H 127.0.0.1 -p PORT
"""

import os
import sys
from urllib.parse import quote, urlencode

import moto.iam.access_control as access_control
from moto.server import main

sys.path.insert(
    0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "emulator")
)
import backup_points  # noqa: E402,F401  (its patches, on import)
import ecs_tasks  # noqa: E402,F401  (its patches, on import)
import eks_clusters  # noqa: E402,F401  (its patches, on import)
import s3_objects  # noqa: E402,F401  (its patches, on import)

_original = access_control.IAMRequestBase._create_aws_request


def _create_aws_request(self):
    content_type = next(
        (v for k, v in self._headers.items() if k.lower() == "content-type"), ""
    )
    authorization = next(
        (v for k, v in self._headers.items() if k.lower() == "authorization"), ""
    )
    if (
        not self._body
        and isinstance(self._data, dict)
        and any(f"/{svc}/aws4_request" in authorization for svc in ("lambda", "eks", "backup"))
    ):
        # A REST request without a body (Lambda's, EKS's and AWS Backup's GETs and DELETEs): moto hands over the request's headers
        # as its data, and would sign them as a form; the SDK signed an empty body.
        self._data = b""
    elif (
        not self._body
        and isinstance(self._data, dict)
        and content_type.startswith("application/x-www-form-urlencoded")
    ):
        self._body = urlencode(
            self._data,
            doseq=True,
            quote_via=lambda s, safe, encoding, errors: quote(
                s, safe="", encoding=encoding, errors=errors
            ),
        )
    return _original(self)


access_control.IAMRequestBase._create_aws_request = _create_aws_request

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
