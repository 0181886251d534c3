"""AWS clients made on first use, so AWS_ENDPOINT_URL (moto, the local stack) is read after it is set.

They are botocore's, not boto3's: `import boto3` imports s3transfer and with it thread and process pools, a third
of a handler's cold start, and nothing here uses boto3's resources or transfers (tests/unit/test_cold_imports.py).
botocore itself is imported by the first client, not by the handler's import (bench/cold_start.py).
"""

import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from botocore.config import Config
    from botocore.session import Session

_RETRIES = {"mode": "standard", "max_attempts": 5}


@cache
def session() -> "Session":
    """boto3's default session when a process has set one up (the benches and the local stack hook their counters
    and keys on it, so they see every call made here), else a botocore session of this module's own."""
    boto3 = sys.modules.get("boto3")
    default = boto3.DEFAULT_SESSION if boto3 else None
    if default:
        return default._session
    import botocore.session

    return botocore.session.get_session()


def config(**options: Any) -> "Config":
    """botocore's client options: standard retries, 5 attempts, unless `options` say otherwise."""
    from botocore.config import Config

    return Config(**{"retries": _RETRIES, **options})


def client(service: str, options: "Config | None" = None, region: str | None = None):
    """A new client of `service` from the session, as `boto3.client` makes one; `options` default to `config()`."""
    return session().create_client(service, region_name=region, config=options if options is not None else config())


@cache
def dynamodb():
    return client("dynamodb")


SQS_CONNECTIONS = 20  # calls of one process in flight at once: a window's batches are sent side by side


@cache
def sqs():
    return client("sqs", config(max_pool_connections=SQS_CONNECTIONS))


@cache
def s3():
    # SigV4 presigned URLs: SigV2's are refused by newer regions (and by the local stack's gate).
    return client("s3", config(signature_version="s3v4"))


@cache
def lambda_client():
    # A task runs once per invocation: an invocation is never retried by botocore (a retry after a read timeout
    # would run the task again), and the answer may take as long as a task may run.
    return client(
        "lambda", config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=900, connect_timeout=10)
    )


@cache
def events():
    # A lifecycle event is a notice, never worth holding up a backfill's write: few tries, short waits.
    return client("events", config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=5))


@cache
def secrets() -> "SecretsProvider":
    """Powertools' Secrets Manager reader, whose cache lives as long as the execution environment. Imported here:
    Powertools' parameters import boto3, which only a deployment with secrets needs."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client("secretsmanager"))


def reset() -> None:
    """Forget cached clients and the session (tests switch between moto backends)."""
    for cached in (dynamodb, sqs, s3, lambda_client, events, secrets, session):
        cached.cache_clear()
