"""boto3 clients made on first use, so AWS_ENDPOINT_URL (moto, the local stack) is read after it is set."""

from functools import cache

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
# A task runs once per invocation: an invocation is never retried by botocore (a retry after a read timeout
# would run the task again), and the answer may take as long as a task may run.
_INVOKE_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=900, connect_timeout=10)


@cache
def dynamodb():
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def sqs():
    return boto3.client("sqs", config=_CONFIG)


@cache
def s3():
    # SigV4 presigned URLs: SigV2's are refused by newer regions (and by the local stack's gate).
    return boto3.client("s3", config=_CONFIG.merge(Config(signature_version="s3v4")))


@cache
def lambda_client():
    return boto3.client("lambda", config=_INVOKE_CONFIG)


@cache
def secrets() -> SecretsProvider:
    """Powertools' Secrets Manager reader, whose cache lives as long as the execution environment."""
    return SecretsProvider(boto3_client=boto3.client("secretsmanager", config=_CONFIG))


def reset() -> None:
    """Forget cached clients (tests switch between moto backends)."""
    for client in (dynamodb, sqs, s3, lambda_client, secrets):
        client.cache_clear()
