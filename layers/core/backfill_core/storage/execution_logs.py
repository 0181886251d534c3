"""An execution's log lines as Kestra LogEntry JSON, in order of their key (`<time>#<attempt>#<count>`).

The first INLINE_LOG_BYTES of them are kept on the execution's own record (its `logLinesZ`, each less what every
line of the execution says alike), so an attempt writes them with the save it makes anyway; lines past that are
LOG items under the execution id (`LOG#<key>`), which expire after LOG_RETENTION_DAYS. A read merges the two in
key order.
"""

import heapq
import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

from backfill_core.aws_clients import dynamodb
from backfill_core.settings import settings
from backfill_core.storage import batches
from backfill_core.storage.execution_items import BODY, EXECUTION, LOG_LINES, unpacked

INLINE_LOG_BYTES = 1024  # an execution's lines kept on its record, as JSON: a no-op flow's fit, a chatty one's do not
LogLine = tuple[str, dict[str, Any]]  # (key, Kestra LogEntry JSON)


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
    try:
        batches.write_items(settings().executions_table, requests)
    except batches.Unprocessed as exc:
        raise LogsNotWritten(
            f"{exc.left} log lines of execution {execution_id} were still unprocessed by DynamoDB (throttled) "
            f"after {batches.UNPROCESSED_RETRIES} retries"
        ) from exc


def kept_inline(inline: list[LogLine], shared: dict[str, Any], entries: list[LogLine]) -> list[LogLine]:
    """Add to a record's `inline` lines those of `entries` that fit INLINE_LOG_BYTES (less the `shared` fields,
    which the record says); the rest are returned, to write as LOG items."""
    size = len(json.dumps(inline, separators=(",", ":")))
    overflow = []
    for key, entry in entries:
        line = (key, {field: value for field, value in entry.items() if shared.get(field, ...) != value})
        grown = len(json.dumps(line, separators=(",", ":"))) + 1
        if size + grown <= INLINE_LOG_BYTES:
            inline.append(line)
            size += grown
        else:
            overflow.append((key, entry))
    return overflow


def shared_fields(tenant: str, namespace: str, flow_id: str, execution_id: str, trigger_id: str | None) -> dict:
    """What every line of an execution says alike: left out of the lines kept on its record."""
    return {
        "tenantId": tenant,
        "namespace": namespace,
        "flowId": flow_id,
        "executionId": execution_id,
        "triggerId": trigger_id,
    }


def inline_lines(item: dict) -> list[LogLine]:
    """The lines kept on an execution record's item, in key order."""
    return [(key, entry) for key, entry in unpacked(item, LOG_LINES) or []]


def logs(execution_id: str) -> Iterator[dict[str, Any]]:
    """The execution's log lines in order, read from DynamoDB a page at a time as they are consumed: the record's
    own (its sort key comes before every LOG item's) merged with its LOG items."""
    pages = (
        dynamodb()
        .get_paginator("query")
        .paginate(
            TableName=settings().executions_table,
            KeyConditionExpression="pk = :id",
            ExpressionAttributeValues={":id": {"S": execution_id}},
        )
    )
    items = (item for page in pages for item in page["Items"])
    first = next(items, None)
    inline: list[LogLine] = []
    if first is not None and first["sk"]["S"] == EXECUTION:
        body = unpacked(first, BODY)
        trigger = body.get("trigger") or {}
        shared = shared_fields(body["tenantId"], body["namespace"], body["flowId"], execution_id, trigger.get("id"))
        inline = [(key, {**shared, **entry}) for key, entry in inline_lines(first)]
        first = None
    rest = items if first is None else itertools.chain([first], items)
    stored = ((item["sk"]["S"][4:], json.loads(item["entry"]["S"])) for item in rest if item["sk"]["S"][:4] == "LOG#")
    for _, entry in heapq.merge(inline, stored, key=lambda line: line[0]):
        yield entry
