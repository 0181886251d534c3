"""ExecutionsTable's LOG items: an execution's log lines as Kestra LogEntry JSON, under the execution id, in order
of their sort key (`LOG#<time>#<attempt>#<count>`); they expire after LOG_RETENTION_DAYS."""

import json
import random
import time
from collections.abc import Iterator
from typing import Any

from backfill_core.aws_clients import dynamodb
from backfill_core.settings import settings

# BatchWriteItem hands back what it could not write under throttling; botocore does not retry those. Each retry
# waits a random time up to a doubling bound (full jitter, so throttled writers spread out), 0.1 s then 0.2,
# 0.4, ... capped at 2 s: about 5 s in all at most before the lines are given up on.
UNPROCESSED_RETRIES = 6
UNPROCESSED_BACKOFF_SECONDS = 0.05
UNPROCESSED_BACKOFF_CAP_SECONDS = 2.0


class LogsNotWritten(Exception):
    """DynamoDB still held back some log lines after every retry: the table is throttled for longer than a
    flush may wait."""


def append_logs(execution_id: str, entries: list[tuple[str, dict[str, Any]]]) -> None:
    """Store log lines as (sort key suffix, Kestra LogEntry JSON). LogsNotWritten if DynamoDB keeps some back
    past the retries; each line is a put of its own key, so writing them all again is safe."""
    expires = str(int(time.time()) + settings().log_retention_days * 86400)
    requests = [
        {
            "PutRequest": {
                "Item": {
                    "pk": {"S": execution_id},
                    "sk": {"S": f"LOG#{suffix}"},
                    "entry": {"S": json.dumps(entry)},
                    "expiresAt": {"N": expires},
                }
            }
        }
        for suffix, entry in entries
    ]
    client = dynamodb()
    for chunk_start in range(0, len(requests), 25):
        pending = {settings().executions_table: requests[chunk_start : chunk_start + 25]}
        for retry in range(UNPROCESSED_RETRIES + 1):
            if retry:
                bound = min(UNPROCESSED_BACKOFF_SECONDS * 2**retry, UNPROCESSED_BACKOFF_CAP_SECONDS)
                time.sleep(random.uniform(0, bound))
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
        else:
            left = sum(len(items) for items in pending.values())
            raise LogsNotWritten(
                f"{left} log lines of execution {execution_id} were still unprocessed by DynamoDB (throttled) "
                f"after {UNPROCESSED_RETRIES} retries"
            )


def logs(execution_id: str) -> Iterator[dict[str, Any]]:
    """The execution's log lines in order, read from DynamoDB a page at a time as they are consumed."""
    pages = (
        dynamodb()
        .get_paginator("query")
        .paginate(
            TableName=settings().executions_table,
            KeyConditionExpression="pk = :id AND begins_with(sk, :log)",
            ExpressionAttributeValues={":id": {"S": execution_id}, ":log": {"S": "LOG#"}},
        )
    )
    return (json.loads(item["entry"]["S"]) for page in pages for item in page["Items"])
