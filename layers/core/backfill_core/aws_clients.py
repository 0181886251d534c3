"""AWS clients made on first use, so AWS_ENDPOINT_URL (moto, the local stack) is read after it is set.

They are botocore's, not boto3's: `import boto3` imports s3transfer and with it thread and process pools, a third
of a handler's cold start, and nothing here uses boto3's resources or transfers (tests/unit/test_cold_imports.py).
"""

import sys
from functools import cache
from typing import TYPE_CHECKING

import botocore.session
from botocore.config import Config

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
# A task runs once per invocation: an invocation is never retried by botocore (a retry after a read timeout
# would run the task again), and the answer may take as long as a task may run.
_INVOKE_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=900, connect_timeout=10)


@cache
def session() -> botocore.session.Session:
    """boto3's default session when a process has set one up (the benches and the local stack hook their counters
    and keys on it, so they see every call made here), else a botocore session of this module's own."""
    boto3 = sys.modules.get("boto3")
    default = boto3.DEFAULT_SESSION if boto3 else None
    return default._session if default else botocore.session.get_session()


def client(service: str, config: Config = _CONFIG, region: str | None = None):
    """A new client of `service` from the session, as `boto3.client` makes one."""
    return session().create_client(service, region_name=region, config=config)


@cache
def dynamodb():
    return client("dynamodb")


SQS_CONNECTIONS = 20  # calls of one process in flight at once: a window's batches are sent side by side


@cache
def sqs():
    return client("sqs", _CONFIG.merge(Config(max_pool_connections=SQS_CONNECTIONS)))


@cache
def s3():
    # SigV4 presigned URLs: SigV2's are refused by newer regions (and by the local stack's gate).
    return client("s3", _CONFIG.merge(Config(signature_version="s3v4")))


@cache
def lambda_client():
    return client("lambda", _INVOKE_CONFIG)


@cache
def secrets() -> "SecretsProvider":
    """Powertools' Secrets Manager reader, whose cache lives as long as the execution environment. Imported here:
    Powertools' parameters import boto3, which only a deployment with secrets needs."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client("secretsmanager"))


def reset() -> None:
    """Forget cached clients and the session (tests switch between moto backends)."""
    for cached in (dynamodb, sqs, s3, lambda_client, secrets, session):
        cached.cache_clear()
