"""boto3 clients made on first use, so AWS_ENDPOINT_URL (moto, the local stack) is read after it is set."""

from functools import cache

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@cache
def dynamodb():
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def sqs():
    return boto3.client("sqs", config=_CONFIG)


def reset() -> None:
    """Forget cached clients (tests switch between moto backends)."""
    dynamodb.cache_clear()
    sqs.cache_clear()
