"""ExecutionsTable: one EXECUTION item per execution and its LOG items, under the execution id.

The ByFlowStart index (tenant; namespace#flowId#created#id) serves the executions search; the BySlot index
(tenant#namespace#flowId#triggerId; slot#created#id) finds what already ran for a trigger's slots; the sparse
AwaitingMessage index (AWAITING; due#tenant#id) holds what only a message not yet taken moves on. Writes
to an execution are conditional on its `attempt`, so a dead attempt that wakes up cannot overwrite a newer
one. A kill request is its own KILL item beside the execution.
"""

import json
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from backfill_core.aws_clients import dynamodb
from backfill_core.backfills.reprocess import PriorExecution
from backfill_core.errors import ConcurrentUpdate
from backfill_core.flows.execution import Execution, ExecutionState
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.settings import settings
from backfill_core.storage.conditions import condition_failed, written

EXECUTION = "EXECUTION"
KILL = "KILL"  # its own item, so the attempt's writes of the execution never erase a kill request
BY_FLOW_INDEX = "ByFlowStart"
BY_SLOT_INDEX = "BySlot"
# The sparse AwaitingMessage index: an execution written before its message was sent, until an executor takes it.
AWAITING_MESSAGE_INDEX = "AwaitingMessage"
AWAITING_MESSAGE = "AWAITING"
AWAITING_MESSAGE_STATES = (ExecutionState.CREATED, ExecutionState.RESTARTED)
# BatchWriteItem hands back what it could not write under throttling; botocore does not retry those. Each retry
# waits a random time up to a doubling bound (full jitter, so throttled writers spread out), 0.1 s then 0.2,
# 0.4, ... capped at 2 s: about 5 s in all at most before the lines are given up on.
UNPROCESSED_RETRIES = 6
UNPROCESSED_BACKOFF_SECONDS = 0.05
UNPROCESSED_BACKOFF_CAP_SECONDS = 2.0


class LogsNotWritten(Exception):
    """DynamoDB still held back some log lines after every retry: the table is throttled for longer than a
    flush may wait."""


def _item(execution: Execution) -> dict:
    created = execution.state.histories[0].date if execution.state.histories else execution.scheduled_date
    created = created.replace(microsecond=created.microsecond // 1000 * 1000)  # as the body keeps it: keys stay put
    item = {
        "pk": {"S": execution.id},
        "sk": {"S": EXECUTION},
        "gsi1pk": {"S": execution.tenant_id},
        "gsi1sk": {"S": f"{execution.namespace}#{execution.flow_id}#{storage_key(created)}#{execution.id}"},
        "gsi2pk": {"S": f"{execution.tenant_id}#{execution.namespace}#{execution.flow_id}#{_slot_trigger(execution)}"},
        "gsi2sk": {"S": f"{storage_key(execution.scheduled_date)}#{storage_key(created)}#{execution.id}"},
        "origin": {"S": execution.backfill_id or ""},
        "state": {"S": execution.state.current},
        "attempt": {"N": str(execution.attempt)},
        "leaseUntil": {"N": repr(execution.lease_until)},
        "body": {"S": execution.model_dump_json(by_alias=True)},
    }
    if execution.message_due is not None and execution.state.current in AWAITING_MESSAGE_STATES:
        item |= awaiting_keys(execution.tenant_id, execution.id, execution.message_due)
    return item


def awaiting_keys(tenant: str, execution_id: str, due: datetime) -> dict:
    """The AwaitingMessage index's keys of an execution whose next message is due by `due`."""
    return {"gsi3pk": {"S": AWAITING_MESSAGE}, "gsi3sk": {"S": f"{storage_key(due)}#{tenant}#{execution_id}"}}


def _slot_trigger(execution: Execution) -> str:
    """A child's trigger is its parent's task, whose id may be a trigger's of its own flow: kept apart (`:` is in
    no trigger id), so what ran for a trigger's slots never counts a child, nor a run by hand."""
    if execution.trigger is None:
        return "manual:"  # a run by hand: no trigger's slot
    return f"subflow:{execution.trigger.id}" if execution.kind == "subflow" else execution.trigger.id


def _execution(item: dict) -> Execution:
    execution = Execution.model_validate_json(item["body"]["S"])
    execution.lease_until = float(item["leaseUntil"]["N"])
    return execution


def create_if_absent(execution: Execution) -> bool:
    """The exactly-once point: True when this call created the execution."""
    return written(
        dynamodb().put_item,
        TableName=settings().executions_table,
        Item=_item(execution),
        ConditionExpression="attribute_not_exists(pk)",
    )


def get(execution_id: str) -> Execution | None:
    response = dynamodb().get_item(
        TableName=settings().executions_table,
        Key={"pk": {"S": execution_id}, "sk": {"S": EXECUTION}},
        ConsistentRead=True,
    )
    return _execution(response["Item"]) if "Item" in response else None


def take_over(execution: Execution, seen_attempt: int, now_epoch: float) -> None:
    """Write a new attempt over `seen_attempt`, only if that attempt's lease has run out.

    ConcurrentUpdate means a live attempt still owns the execution (or another executor took it first).
    """
    try:
        dynamodb().put_item(
            TableName=settings().executions_table,
            Item=_item(execution),
            ConditionExpression="attempt = :seen AND leaseUntil < :now",
            ExpressionAttributeValues={":seen": {"N": str(seen_attempt)}, ":now": {"N": repr(now_epoch)}},
        )
    except ClientError as exc:
        if condition_failed(exc):
            raise ConcurrentUpdate(execution.id) from exc
        raise


def request_kill(execution_id: str) -> bool:
    """Ask the attempt running this execution to kill it; False if the execution does not exist yet."""
    table = settings().executions_table
    try:
        dynamodb().transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": execution_id}, "sk": {"S": EXECUTION}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                {"Put": {"TableName": table, "Item": {"pk": {"S": execution_id}, "sk": {"S": KILL}}}},
            ]
        )
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "TransactionCanceledException":
            return False
        raise


def kill_requested(execution_id: str) -> bool:
    response = dynamodb().get_item(
        TableName=settings().executions_table,
        Key={"pk": {"S": execution_id}, "sk": {"S": KILL}},
        ConsistentRead=True,
    )
    return "Item" in response


def prior_executions(trigger_pk: str, first: datetime, last: datetime) -> dict[str, list[PriorExecution]]:
    """The executions of a trigger (tenant#namespace#flowId#triggerId) whose slot lies between two slots,
    inclusive, by the slot's storage key."""
    low, high = sorted((storage_key(first), storage_key(last)))
    pages = (
        dynamodb()
        .get_paginator("query")
        .paginate(
            TableName=settings().executions_table,
            IndexName=BY_SLOT_INDEX,
            KeyConditionExpression="gsi2pk = :trigger AND gsi2sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":trigger": {"S": trigger_pk},
                ":low": {"S": low},
                ":high": {"S": high + "#~"},
            },
        )
    )
    found: dict[str, list[PriorExecution]] = defaultdict(list)
    for page in pages:
        for item in page["Items"]:
            slot, created, execution_id = item["gsi2sk"]["S"].split("#", 2)
            origin = item.get("origin", {}).get("S") or None
            found[slot].append(PriorExecution(execution_id, item["state"]["S"], created, origin))
    return dict(found)


def save(execution: Execution) -> None:
    """Write progress of the attempt that owns the execution; ConcurrentUpdate if it no longer does."""
    try:
        dynamodb().put_item(
            TableName=settings().executions_table,
            Item=_item(execution),
            ConditionExpression="attempt = :mine",
            ExpressionAttributeValues={":mine": {"N": str(execution.attempt)}},
        )
    except ClientError as exc:
        if condition_failed(exc):
            raise ConcurrentUpdate(execution.id) from exc
        raise


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


def end_leases(now_epoch: float) -> int:
    """End the lease of every running attempt, for a restart after which none can be alive (the
    local stack's attempts all ran in the process that stopped): their executions' next attempts need not
    wait for the lease. Returns how many were ended."""
    return end_live_leases(
        now_epoch,
        "sk = :execution AND #state = :running",
        {":execution": {"S": EXECUTION}, ":running": {"S": ExecutionState.RUNNING}},
        guard="attempt",
        names={"#state": "state"},
    )


def end_live_leases(
    now_epoch: float, where: str, values: dict[str, Any], guard: str, names: dict[str, str] | None = None
) -> int:
    """End now the live lease of every item of the table that `where` finds, unless its `guard` attribute
    changed since the scan read it (its holder moved on): for a restart after which no holder can be alive.
    Returns how many were ended."""
    table = settings().executions_table
    pages = (
        dynamodb()
        .get_paginator("scan")
        .paginate(
            TableName=table,
            FilterExpression=f"{where} AND leaseUntil > :now",
            ProjectionExpression=f"pk, sk, {guard}",
            ExpressionAttributeValues={**values, ":now": {"N": repr(now_epoch)}},
            **({"ExpressionAttributeNames": names} if names else {}),
        )
    )
    return sum(
        written(
            dynamodb().update_item,
            TableName=table,
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET leaseUntil = :now",
            ConditionExpression=f"{guard} = :seen",
            ExpressionAttributeValues={":seen": item[guard], ":now": {"N": repr(now_epoch)}},
        )
        for page in pages
        for item in page["Items"]
    )
