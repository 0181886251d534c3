"""The execution-files bucket's files/*: Kestra's internal storage, as the API reads it (the task runner writes
it with its own role)."""

from botocore.exceptions import ClientError

from backfill_core.aws_clients import s3
from backfill_core.settings import settings


def read(key: str, max_bytes: int) -> tuple[int, bytes | None] | None:
    """The file's size and its bytes, or its size alone when it is larger than max_bytes; None when there is no
    such file."""
    try:
        answer = s3().get_object(Bucket=settings().execution_files_bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    body = answer["Body"]
    try:
        size = int(answer["ContentLength"])
        return (size, None) if size > max_bytes else (size, body.read())
    finally:
        body.close()


def delete_under(prefix: str) -> int:
    """Delete every file whose key starts with the prefix (an execution's folder); returns how many."""
    client, bucket = s3(), settings().execution_files_bucket
    deleted = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:  # a page holds at most 1,000 keys, as many as one DeleteObjects call takes
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted
