"""TriggersTable: per trigger, a STATE item and one item per backfill; per backfill, one item per ended slot.

Keys: pk = tenant#namespace#flowId#triggerId; sk = STATE or BACKFILL#<id>. A backfill is its request item
(BACKFILL#<id>, on the indexes that find backfills) and its progress item (storage/backfill_items.py).
STATE's `backfills` counter changes with each backfill that starts running, so two overlapping ones cannot
both pass the overlap check; the same transaction carries the flow's `backfill_start` item (flows_repository),
so a backfill starts only on the revision of the flow it was planned on, and never after the flow is deleted.
Slot records: pk = SLOTS#<backfill id>, sk = the slot's storage key.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import ClientError

from backfill_core.aws_clients import dynamodb
from backfill_core.backfills.model import Backfill, BackfillSpec, SlotRecord
from backfill_core.backfills.progress import Progress
from backfill_core.errors import ConcurrentUpdate, trigger_disabled_conflict
from backfill_core.schedules.kestra_time import from_storage_key, storage_key
from backfill_core.settings import settings
from backfill_core.storage import backfill_items, backfill_progress
from backfill_core.storage.conditions import condition_failed, written
from backfill_core.storage.due_triggers import SET_DUE, STATE, due_values
from backfill_core.triggers.model import TriggerKey, TriggerState

RUNNING_INDEX = "RunningBackfills"
BY_ID_INDEX = "BackfillsById"
BY_TENANT_INDEX = "BackfillsByTenant"


def _trigger_key(pk: str) -> TriggerKey:
    """The key a stored `pk` was written from (TriggerKey.pk)."""
    return TriggerKey(*pk.split("#", 3))


def get_state(key: TriggerKey) -> TriggerState:
    item = (
        dynamodb()
        .get_item(
            TableName=settings().triggers_table, Key={"pk": {"S": key.pk}, "sk": {"S": STATE}}, ConsistentRead=True
        )
        .get("Item", {})
    )
    return TriggerState(
        date=from_storage_key(item["date"]["S"]) if "date" in item else None,
        schedule=item["schedule"]["S"] if "schedule" in item else None,
        disabled=item.get("disabled", {}).get("BOOL", False),
        backfills=int(item["backfills"]["N"]) if "backfills" in item else 0,
        due=item["due"]["S"] if "due" in item else None,
    )


def set_disabled(key: TriggerKey, disabled: bool) -> None:
    """Enabling puts the trigger in the due index at once (its tick recovers what it missed)."""
    dynamodb().update_item(
        TableName=settings().triggers_table,
        Key={"pk": {"S": key.pk}, "sk": {"S": STATE}},
        UpdateExpression="SET disabled = :disabled" + ("" if disabled else f", {SET_DUE}"),
        ExpressionAttributeValues={":disabled": {"BOOL": disabled}} | ({} if disabled else due_values(key)),
    )


def forget_evaluation(key: TriggerKey, disabled_too: bool = False) -> None:
    """Forget where the live schedule got to (and, with `disabled_too`, the API's disabled flag): its next tick
    takes the trigger up as new (due at once). The backfills counter stays, for the overlap check of a backfill
    starting."""
    removed = "#date, #schedule" + (", disabled" if disabled_too else "")
    dynamodb().update_item(
        TableName=settings().triggers_table,
        Key={"pk": {"S": key.pk}, "sk": {"S": STATE}},
        UpdateExpression=f"REMOVE {removed} SET {SET_DUE}",
        ExpressionAttributeNames={"#date": "date", "#schedule": "schedule"},
        ExpressionAttributeValues=due_values(key),
    )


@dataclass(frozen=True)
class BackfillStart:
    """What a write that starts a backfill running must find unchanged: the trigger's STATE counter its
    overlap check read, and its flow (the transaction item of flows_repository.backfill_start)."""

    seen: int
    flow_check: dict


def _claim_state(key: TriggerKey, seen: int) -> dict:
    """The STATE update that goes with a backfill starting: only if no other started since `seen` was read,
    and not once the trigger is disabled (a race with disable)."""
    return {
        "Update": {
            "TableName": settings().triggers_table,
            "Key": {"pk": {"S": key.pk}, "sk": {"S": STATE}},
            "UpdateExpression": "SET backfills = :next",
            # A STATE item that is gone (its flow was deleted) passes only a check that read none.
            "ConditionExpression": (
                "(attribute_not_exists(backfills) OR backfills = :seen)" if not seen else "backfills = :seen"
            )
            + " AND (attribute_not_exists(disabled) OR disabled = :enabled)",
            "ExpressionAttributeValues": {
                ":next": {"N": str(seen + 1)},
                ":seen": {"N": str(seen)},
                ":enabled": {"BOOL": False},
            },
        }
    }


def _raise_claim_failure(key: TriggerKey, backfill_id: str, exc: ClientError) -> None:
    if get_state(key).disabled:
        raise trigger_disabled_conflict(key.namespace, key.flow_id, key.trigger_id) from exc
    raise ConcurrentUpdate(backfill_id) from exc  # another backfill started meanwhile, or it changed: check again


def create_backfill(spec: BackfillSpec, progress: Progress, start: BackfillStart) -> None:
    """Write a new backfill, if no other backfill of the trigger started since its overlap check read
    the STATE counter, and the flow is as planned (ConcurrentUpdate); and the trigger is enabled (409)."""
    table = settings().triggers_table
    try:
        dynamodb().transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": backfill_items.spec_item(spec),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": backfill_progress.item(spec.id, progress),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                _claim_state(spec.trigger_key, start.seen),
                start.flow_check,
            ]
        )
    except ClientError as exc:
        if condition_failed(exc):
            _raise_claim_failure(spec.trigger_key, spec.id, exc)
        raise


def restart_backfill(spec: BackfillSpec, change: dict, start: BackfillStart) -> None:
    """Write a change that sets an ended backfill running again (retry-failed), checked as a create is: no
    overlapping backfill started since, the flow as planned, the trigger enabled. `change` is the progress
    item's update (storage/backfill_progress.py)."""
    try:
        dynamodb().transact_write_items(
            TransactItems=[
                {"Update": change},
                {"Update": backfill_items.running_update(spec, True)},
                _claim_state(spec.trigger_key, start.seen),
                start.flow_check,
            ]
        )
    except ClientError as exc:
        if condition_failed(exc):
            _raise_claim_failure(spec.trigger_key, spec.id, exc)
        raise


def get_backfill(key: TriggerKey, backfill_id: str) -> Backfill | None:
    return backfill_items.view(key.pk, backfill_id)


def _query_pages(**query) -> Iterator[dict]:
    return dynamodb().get_paginator("query").paginate(TableName=settings().triggers_table, **query)


def _backfills_on_index(index: str, condition: str, values: dict, **query) -> list[Backfill]:
    pages = _query_pages(IndexName=index, KeyConditionExpression=condition, ExpressionAttributeValues=values, **query)
    return backfill_items.with_progress(item for page in pages for item in page["Items"])


def running_backfills(ended_too: bool = False) -> list[Backfill]:
    """Every backfill not yet settled, from the sparse index; `ended_too`: with those that ended but are still
    in it (a crash between the end and the index: the watchdog mends them)."""
    found = _backfills_on_index(
        RUNNING_INDEX, "#running = :one", {":one": {"S": "1"}}, ExpressionAttributeNames={"#running": "running"}
    )
    return found if ended_too else [b for b in found if not b.settled]


def backfill_by_id(backfill_id: str) -> Backfill | None:
    items = dynamodb().query(
        TableName=settings().triggers_table,
        IndexName=BY_ID_INDEX,
        KeyConditionExpression="backfillId = :id",
        ExpressionAttributeValues={":id": {"S": backfill_id}},
    )["Items"]
    if not items:
        return None
    # The index is eventually consistent: read the record itself.
    return get_backfill(_trigger_key(items[0]["pk"]["S"]), backfill_id)


def backfills_of_tenant(tenant: str) -> list[Backfill]:
    """All of a tenant's backfills, newest first."""
    return _backfills_on_index(BY_TENANT_INDEX, "tenant = :tenant", {":tenant": {"S": tenant}}, ScanIndexForward=False)


def backfills_of_trigger(key: TriggerKey, unsettled_only: bool = False) -> list[Backfill]:
    """The backfills of one trigger, newest first: all of them, or only those not settled (running, paused
    or cancelling), filtered before they leave DynamoDB."""
    query = {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :backfill)",
        "ExpressionAttributeValues": {":pk": {"S": key.pk}, ":backfill": {"S": "BACKFILL#"}},
    }
    if unsettled_only:
        query["FilterExpression"] = "attribute_exists(#running)"
        query["ExpressionAttributeNames"] = {"#running": "running"}
    pages = _query_pages(ConsistentRead=True, **query)
    found = backfill_items.with_progress(item for page in pages for item in page["Items"])
    return sorted(found, key=lambda b: (b.created, b.id), reverse=True)


def _slot_pk(backfill_id: str) -> str:
    return f"SLOTS#{backfill_id}"


def record_slot(record: SlotRecord) -> None:
    """Keep why a slot was skipped; a later round of the same slot overwrites it, an earlier one never does."""
    item = {
        "pk": {"S": _slot_pk(record.backfill_id)},
        "sk": {"S": storage_key(record.date)},
        "slotState": {"S": record.state.value},
        "round": {"N": str(record.round)},
        "body": {"S": record.model_dump_json(by_alias=True)},
    }
    written(
        dynamodb().put_item,
        TableName=settings().triggers_table,
        Item=item,
        ConditionExpression="attribute_not_exists(#round) OR #round <= :round",
        ExpressionAttributeNames={"#round": "round"},
        ExpressionAttributeValues={":round": {"N": str(record.round)}},
    )


def slot_records(backfill_id: str, first: datetime, last: datetime) -> dict[str, SlotRecord]:
    """The slot records (skipped slots) of a backfill between two slots (inclusive), by storage key."""
    low, high = sorted((storage_key(first), storage_key(last)))
    pages = _query_pages(
        KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
        ExpressionAttributeValues={":pk": {"S": _slot_pk(backfill_id)}, ":low": {"S": low}, ":high": {"S": high}},
        ConsistentRead=True,
    )
    return {
        item["sk"]["S"]: SlotRecord.model_validate_json(item["body"]["S"]) for page in pages for item in page["Items"]
    }
