"""boto3 clients made on first use, so AWS_ENDPOINT_URL (moto, the local stack) is read after it is set."""

from functools import cache

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@cache
def dynamodb():
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def sqs():
    return boto3.client("sqs", config=_CONFIG)


@cache
def secrets() -> SecretsProvider:
    """Powertools' Secrets Manager reader, whose cache lives as long as the execution environment."""
    return SecretsProvider(boto3_client=boto3.client("secretsmanager", config=_CONFIG))


def reset() -> None:
    """Forget cached clients (tests switch between moto backends)."""
    dynamodb.cache_clear()
    sqs.cache_clear()
    secrets.cache_clear()
