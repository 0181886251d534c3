"""ExecutionsTable: one EXECUTION item per execution and its LOG items, under the execution id.

The ByFlowStart index (tenant; namespace#flowId#created#id) serves the executions search; the BySlot index
(tenant#namespace#flowId#triggerId; slot#created#id) finds what already ran for a trigger's slots; the sparse
AwaitingMessage index (AWAITING; due#tenant#id) holds what only a message not yet taken moves on. Writes
to an execution are conditional on its `attempt`, so a dead attempt that wakes up cannot overwrite a newer
one. A kill request is the execution's `killRequested` attribute: every write of the attempt is conditioned on
its absence unless the attempt knows of it, so a write never erases one and the attempt learns of it from the
write it makes anyway (ReturnValuesOnConditionCheckFailure), not from a read per task.
"""

from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import groupby
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from backfill_core.aws_clients import dynamodb
from backfill_core.backfills.reprocess import PriorExecution
from backfill_core.errors import ConcurrentUpdate
from backfill_core.flows.execution import Execution, ExecutionState
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.settings import settings
from backfill_core.storage.conditions import condition_failed, written
from backfill_core.storage.execution_items import BODY, EXECUTION, LOG_LINES, packed, unpacked
from backfill_core.storage.execution_logs import inline_lines

KILL = "KILL"  # an earlier release's kill request, an item of its own: deleted with its execution
KILL_REQUESTED = "killRequested"
BY_FLOW_INDEX = "ByFlowStart"
BY_SLOT_INDEX = "BySlot"
# The sparse AwaitingMessage index: an execution written before its message was sent, until an executor takes it.
AWAITING_MESSAGE_INDEX = "AwaitingMessage"
AWAITING_MESSAGE = "AWAITING"
AWAITING_MESSAGE_STATES = (ExecutionState.CREATED, ExecutionState.RESTARTED)
# Said by the item's keys and attributes, so left out of its body (as are the fields at their defaults): a write
# costs a unit per KB, on the ByFlow index too.
IN_ITS_OWN_ATTRIBUTES = {"id", "attempt", "backfill_id"}


def _item(execution: Execution) -> dict:
    created = execution.state.histories[0].date if execution.state.histories else execution.scheduled_date
    created = created.replace(microsecond=created.microsecond // 1000 * 1000)  # as the body keeps it: keys stay put
    item: dict[str, dict[str, Any]] = {
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
        BODY: stored_body(execution),
    }
    if execution.kill_requested:
        item[KILL_REQUESTED] = {"BOOL": True}
    if execution.log_lines:
        item[LOG_LINES] = packed(execution.log_lines)
    if execution.message_due is not None and execution.state.current in AWAITING_MESSAGE_STATES:
        item |= awaiting_keys(execution.tenant_id, execution.id, execution.message_due)
    return item


def stored_body(execution: Execution) -> dict[str, bytes]:
    """The item's BODY attribute: the execution's JSON, less what the item's attributes and defaults say."""
    return packed(_lean(execution, execution.to_json()))


def _lean(model: BaseModel, dumped: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON less the fields at their defaults, at every depth (pydantic's exclude_defaults does not see
    them past KestraModel's serializer), and less what the item's own attributes say."""
    for name, field in type(model).model_fields.items():
        key, value = field.alias or name, getattr(model, name)
        if key not in dumped:
            continue
        own = name in IN_ITS_OWN_ATTRIBUTES and isinstance(model, Execution)
        if own or (not field.is_required() and field.default_factory is None and value == field.default):
            del dumped[key]
        elif isinstance(value, BaseModel):
            _lean(value, dumped[key])
        elif isinstance(value, list):
            for element, element_dumped in zip(value, dumped[key], strict=True):
                if isinstance(element, BaseModel):
                    _lean(element, element_dumped)
    return dumped


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
    body = unpacked(item, BODY)
    origin = item.get("origin", {}).get("S") or None
    execution = Execution.model_validate(
        {**body, "id": item["pk"]["S"], "attempt": int(item["attempt"]["N"]), "backfillId": origin}
    )
    execution.lease_until = float(item["leaseUntil"]["N"])
    execution.kill_requested = KILL_REQUESTED in item
    execution.log_lines = inline_lines(item)
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
    _put_keeping_kill(
        execution,
        "attempt = :seen AND leaseUntil < :now",
        {":seen": {"N": str(seen_attempt)}, ":now": {"N": repr(now_epoch)}},
        lambda old: old["attempt"]["N"] == str(seen_attempt) and float(old["leaseUntil"]["N"]) < now_epoch,
    )


def request_kill(execution_id: str) -> bool:
    """Ask the attempt running this execution to kill it; False if the execution does not exist yet."""
    return written(
        dynamodb().update_item,
        TableName=settings().executions_table,
        Key={"pk": {"S": execution_id}, "sk": {"S": EXECUTION}},
        UpdateExpression=f"SET {KILL_REQUESTED} = :yes",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={":yes": {"BOOL": True}},
    )


def kill_requested(execution_id: str) -> bool:
    """Read for a kill while a task runs: between tasks the attempt learns of one from its own writes."""
    response = dynamodb().get_item(
        TableName=settings().executions_table,
        Key={"pk": {"S": execution_id}, "sk": {"S": EXECUTION}},
        ProjectionExpression=KILL_REQUESTED,
        ConsistentRead=True,
    )
    return KILL_REQUESTED in response.get("Item", {})


def prior_executions(
    trigger_pk: str, first: datetime, last: datetime, backfill_id: str | None = None
) -> dict[str, list[PriorExecution]]:
    """The executions of a trigger (tenant#namespace#flowId#triggerId) whose slot lies between two slots,
    inclusive, by the slot's storage key; given `backfill_id`, only that backfill's (filtered in DynamoDB)."""
    return dict(slot_executions(trigger_pk, first, last, backfill_id))


def slot_executions(
    trigger_pk: str, first: datetime, last: datetime, backfill_id: str | None = None
) -> Iterator[tuple[str, list[PriorExecution]]]:
    """`prior_executions`, slot by slot in the slots' order, read lazily from the BySlot index (whose sort key
    starts with the slot, so a slot's executions come together): a caller that stops early reads no further."""
    low, high = sorted((storage_key(first), storage_key(last)))
    query: dict[str, Any] = {
        "KeyConditionExpression": "gsi2pk = :trigger AND gsi2sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": {":trigger": {"S": trigger_pk}, ":low": {"S": low}, ":high": {"S": high + "#~"}},
    }
    if backfill_id is not None:
        query["FilterExpression"] = "origin = :origin"
        query["ExpressionAttributeValues"][":origin"] = {"S": backfill_id}
    pages = (
        dynamodb()
        .get_paginator("query")
        .paginate(TableName=settings().executions_table, IndexName=BY_SLOT_INDEX, **query)
    )
    items = (item for page in pages for item in page["Items"])
    for slot, runs in groupby(items, key=lambda item: item["gsi2sk"]["S"].split("#", 1)[0]):
        found = []
        for item in runs:
            _, created, execution_id = item["gsi2sk"]["S"].split("#", 2)
            origin = item.get("origin", {}).get("S") or None
            found.append(PriorExecution(execution_id, item["state"]["S"], created, origin))
        yield slot, found


def save(execution: Execution, *, clear_kill: bool = False) -> None:
    """Write progress of the attempt that owns the execution; ConcurrentUpdate if it no longer does. A kill
    request on the item is kept, and learned (`execution.kill_requested`), unless `clear_kill` (a restart)."""
    mine = {":mine": {"N": str(execution.attempt)}}
    if clear_kill:
        execution.kill_requested = False
        _put(execution, "attempt = :mine", mine)
    else:
        _put_keeping_kill(execution, "attempt = :mine", mine, lambda old: old["attempt"]["N"] == str(execution.attempt))


def _put_keeping_kill(execution: Execution, condition: str, values: dict, still_holds: Callable[[dict], bool]) -> None:
    """Put the item under `condition`, never erasing a kill request it does not know of: one found makes the
    write again carrying it (the condition as it was otherwise: `still_holds` of the item as it is)."""
    if not execution.kill_requested:
        try:
            _put(execution, f"{condition} AND attribute_not_exists({KILL_REQUESTED})", values)
            return
        except ConcurrentUpdate as exc:
            old = exc.current
            if not old or KILL_REQUESTED not in old or not still_holds(old):
                raise ConcurrentUpdate(execution.id) from exc
            execution.kill_requested = True
    _put(execution, condition, values)


def _put(execution: Execution, condition: str, values: dict) -> None:
    """ConcurrentUpdate(id, the item as it was) when the condition failed."""
    try:
        dynamodb().put_item(
            TableName=settings().executions_table,
            Item=_item(execution),
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if condition_failed(exc):
            raise ConcurrentUpdate(execution.id, exc.response.get("Item")) from exc
        raise


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
