"""The local AWS emulator: moto's server with what firebreak's actions need and moto 5.2.5
lacks or does otherwise than AWS, each in a module of its own that patches moto on import:
S3's authorisation of object requests by a bucket policy (s3_objects.py), ECS task
scale-in protection (ecs_tasks.py), EKS access entries (eks_clusters.py) and AWS Backup's
recovery points and vault access policies (backup_points.py). `firebreak drill --emulator` starts it, and the
tests whose actions need either. Everything else is moto 5.2.5 as installed by
scripts/ensure-moto.

    .venv-moto/bin/python scripts/emulator/moto_server.py -H 127.0.0.1 -p PORT
"""

import backup_points  # noqa: F401  (its patches, on import)
import ecs_tasks  # noqa: F401  (its patches, on import)
import eks_clusters  # noqa: F401  (its patches, on import)
import s3_objects  # noqa: F401  (its patches, on import)
from moto.server import main

if __name__ == "__main__":
    main()
