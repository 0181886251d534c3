"""TriggersTable: per trigger, a STATE item (which backfill is active) and one item per backfill.

Keys: pk = tenant#namespace#flowId#triggerId; sk = STATE or BACKFILL#<id>. A backfill item carries its
record as JSON, a `version` for optimistic concurrency and, while it runs, a `running` attribute that
puts it in the sparse RunningBackfills index the watchdog reads.
"""

from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import ClientError

from ..aws_clients import dynamodb
from ..errors import ConcurrentUpdate, Conflict, trigger_disabled_conflict
from ..kestra_time import from_storage_key, storage_key
from ..models import Backfill
from ..settings import settings

STATE = "STATE"
RUNNING_INDEX = "RunningBackfills"
BY_ID_INDEX = "BackfillsById"
BY_TENANT_INDEX = "BackfillsByTenant"


@dataclass(frozen=True)
class TriggerKey:
    tenant: str
    namespace: str
    flow_id: str
    trigger_id: str

    @property
    def pk(self) -> str:
        return f"{self.tenant}#{self.namespace}#{self.flow_id}#{self.trigger_id}"


def key_of(backfill: Backfill) -> TriggerKey:
    return TriggerKey(backfill.tenant, backfill.namespace, backfill.flow_id, backfill.trigger_id)


def _backfill_item(backfill: Backfill) -> dict:
    item = {
        "pk": {"S": key_of(backfill).pk},
        "sk": {"S": f"BACKFILL#{backfill.id}"},
        "version": {"N": str(backfill.version)},
        "status": {"S": backfill.status.value},
        "body": {"S": backfill.model_dump_json(by_alias=True)},
        "backfillId": {"S": backfill.id},
        "tenant": {"S": backfill.tenant},
        "created": {"S": f"{storage_key(backfill.created)}#{backfill.id}"},
    }
    if not backfill.settled:  # the watchdog also looks after a cancelling backfill's running slots
        item["running"] = {"S": "1"}
    return item


def _backfill(item: dict) -> Backfill:
    return Backfill.model_validate_json(item["body"]["S"])


def _failed_condition(exc: ClientError) -> bool:
    error = exc.response["Error"]
    if error["Code"] == "ConditionalCheckFailedException":
        return True
    reasons = exc.response.get("CancellationReasons") or []
    return error["Code"] == "TransactionCanceledException" and any(
        r.get("Code") == "ConditionalCheckFailed" for r in reasons
    )


@dataclass(frozen=True)
class TriggerState:
    """What the API and the scheduler change about a trigger, beside its definition in the flow."""

    date: datetime | None = None  # the last slot the live schedule evaluated
    schedule: str | None = None  # the cron, timezone and seconds flag `date` was evaluated with
    disabled: bool = False  # disabled through the API or by stopAfter
    active_backfill_id: str | None = None


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
        active_backfill_id=item["activeBackfillId"]["S"] if "activeBackfillId" in item else None,
    )


def active_backfill_id(key: TriggerKey) -> str | None:
    return get_state(key).active_backfill_id


def set_disabled(key: TriggerKey, disabled: bool) -> None:
    dynamodb().update_item(
        TableName=settings().triggers_table,
        Key={"pk": {"S": key.pk}, "sk": {"S": STATE}},
        UpdateExpression="SET disabled = :disabled",
        ExpressionAttributeValues={":disabled": {"BOOL": disabled}},
    )


def delete_state(key: TriggerKey) -> None:
    """Forget a trigger's state (its flow was deleted); its backfill records stay as history."""
    dynamodb().delete_item(TableName=settings().triggers_table, Key={"pk": {"S": key.pk}, "sk": {"S": STATE}})


def advance(key: TriggerKey, seen: datetime | None, to: datetime, schedule: str) -> bool:
    """Move the live schedule's evaluation date from `seen` to `to`; False if another tick moved it first."""
    condition = "attribute_not_exists(#date)" if seen is None else "#date = :seen"
    values = {":to": {"S": storage_key(to)}, ":schedule": {"S": schedule}}
    if seen is not None:
        values[":seen"] = {"S": storage_key(seen)}
    try:
        dynamodb().update_item(
            TableName=settings().triggers_table,
            Key={"pk": {"S": key.pk}, "sk": {"S": STATE}},
            UpdateExpression="SET #date = :to, #schedule = :schedule",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#date": "date", "#schedule": "schedule"},
            ExpressionAttributeValues=values,
        )
        return True
    except ClientError as exc:
        if _failed_condition(exc):
            return False
        raise


def create_backfill(backfill: Backfill) -> None:
    """Write a new backfill and make it the trigger's active one, unless another is active (409)."""
    key = key_of(backfill)
    try:
        dynamodb().transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": settings().triggers_table,
                        "Item": _backfill_item(backfill),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": settings().triggers_table,
                        "Key": {"pk": {"S": key.pk}, "sk": {"S": STATE}},
                        "UpdateExpression": "SET activeBackfillId = :id",
                        # Not while another runs, nor once the trigger is disabled (a race with disable).
                        "ConditionExpression": "attribute_not_exists(activeBackfillId) "
                        "AND (attribute_not_exists(disabled) OR disabled = :enabled)",
                        "ExpressionAttributeValues": {":id": {"S": backfill.id}, ":enabled": {"BOOL": False}},
                    }
                },
            ]
        )
    except ClientError as exc:
        if _failed_condition(exc):
            state = get_state(key)
            if state.disabled:
                raise trigger_disabled_conflict(backfill.namespace, backfill.flow_id, backfill.trigger_id) from exc
            running = state.active_backfill_id
            raise Conflict(
                f"Trigger {backfill.namespace}.{backfill.flow_id}.{backfill.trigger_id} already has a running "
                f"backfill ({running}); wait for it to finish or delete it before creating another"
            ) from exc
        raise


def get_backfill(key: TriggerKey, backfill_id: str) -> Backfill | None:
    response = dynamodb().get_item(
        TableName=settings().triggers_table,
        Key={"pk": {"S": key.pk}, "sk": {"S": f"BACKFILL#{backfill_id}"}},
        ConsistentRead=True,
    )
    return _backfill(response["Item"]) if "Item" in response else None


def save_backfill(backfill: Backfill, previous: Backfill) -> Backfill:
    """Write a transition made from `previous`; ConcurrentUpdate if someone else wrote since it was read.

    A backfill that just finished also stops being its trigger's active backfill, in the same transaction.
    """
    saved = backfill.model_copy(update={"version": previous.version + 1})
    put = {
        "TableName": settings().triggers_table,
        "Item": _backfill_item(saved),
        "ConditionExpression": "#version = :seen",
        "ExpressionAttributeNames": {"#version": "version"},
        "ExpressionAttributeValues": {":seen": {"N": str(previous.version)}},
    }
    try:
        if saved.finished and not previous.finished:
            dynamodb().transact_write_items(
                TransactItems=[
                    {"Put": put},
                    {
                        "Update": {
                            "TableName": settings().triggers_table,
                            "Key": {"pk": {"S": key_of(saved).pk}, "sk": {"S": STATE}},
                            "UpdateExpression": "REMOVE activeBackfillId",
                            "ConditionExpression": "activeBackfillId = :id",
                            "ExpressionAttributeValues": {":id": {"S": saved.id}},
                        }
                    },
                ]
            )
        else:
            dynamodb().put_item(**put)
    except ClientError as exc:
        if _failed_condition(exc):
            raise ConcurrentUpdate(saved.id) from exc
        raise
    return saved


def _backfills_on_index(index: str, condition: str, values: dict, **query) -> list[Backfill]:
    pages = (
        dynamodb()
        .get_paginator("query")
        .paginate(
            TableName=settings().triggers_table,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            **query,
        )
    )
    return [_backfill(item) for page in pages for item in page["Items"]]


def running_backfills() -> list[Backfill]:
    """Every backfill not yet settled, from the sparse index (for the watchdog)."""
    return _backfills_on_index(
        RUNNING_INDEX, "#running = :one", {":one": {"S": "1"}}, ExpressionAttributeNames={"#running": "running"}
    )


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
    return get_backfill(TriggerKey(*items[0]["pk"]["S"].split("#", 3)), backfill_id)


def backfills_of_tenant(tenant: str) -> list[Backfill]:
    """All of a tenant's backfills, newest first."""
    return _backfills_on_index(BY_TENANT_INDEX, "tenant = :tenant", {":tenant": {"S": tenant}}, ScanIndexForward=False)
