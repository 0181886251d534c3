"""ExecutionsTable deletions: an execution's items (its record with its first log lines, its log items, an earlier
release's kill request) taken away, as Kestra's delete purges them. Apart from executions_repository, which writes
and reads them."""

import random
import time

from backfill_core.aws_clients import dynamodb
from backfill_core.errors import ConcurrentUpdate
from backfill_core.settings import settings
from backfill_core.storage.execution_logs import UNPROCESSED_BACKOFF_SECONDS, UNPROCESSED_RETRIES
from backfill_core.storage.executions_repository import EXECUTION, KILL


def delete(execution_id: str, with_logs: bool) -> None:
    """The record last: a delete cut short leaves the execution there, to be deleted again."""
    table = settings().executions_table
    pages = (
        dynamodb()
        .get_paginator("query")
        .paginate(
            TableName=table,
            KeyConditionExpression="pk = :id",
            ExpressionAttributeValues={":id": {"S": execution_id}},
            ProjectionExpression="pk, sk",
        )
    )
    keys = [item for page in pages for item in page["Items"] if item["sk"]["S"] != EXECUTION]
    if not with_logs:
        keys = [key for key in keys if key["sk"]["S"] == KILL]
    for start in range(0, len(keys), 25):
        pending = {table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]}
        for retry in range(UNPROCESSED_RETRIES + 1):  # what DynamoDB hands back under throttling is sent again
            if retry:
                time.sleep(random.uniform(0, UNPROCESSED_BACKOFF_SECONDS * 2**retry))
            pending = dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
        else:
            raise ConcurrentUpdate(f"DynamoDB kept back part of execution {execution_id}'s deletion: try again")
    dynamodb().delete_item(TableName=table, Key={"pk": {"S": execution_id}, "sk": {"S": EXECUTION}})
