"""ExecutionsTable deletions: an execution's items (its record with its first log lines, its log items, an earlier
release's kill request) taken away, as Kestra's delete purges them. Apart from executions_repository, which writes
and reads them."""

from backfill_core.aws_clients import dynamodb
from backfill_core.errors import ConcurrentUpdate
from backfill_core.settings import settings
from backfill_core.storage import batches
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
    try:
        batches.write_items(table, [{"DeleteRequest": {"Key": key}} for key in keys])
    except batches.Unprocessed as exc:
        raise ConcurrentUpdate(f"DynamoDB kept back part of execution {execution_id}'s deletion: try again") from exc
    dynamodb().delete_item(TableName=table, Key={"pk": {"S": execution_id}, "sk": {"S": EXECUTION}})
