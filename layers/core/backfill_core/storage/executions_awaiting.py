"""ExecutionsTable's sparse AwaitingMessage index: the executions written before their queue message was sent,
until an executor takes them (executions_repository writes the index keys while the record says so), and those
run by id that wait for a place under their flow's concurrency limit (concurrency_repository.wait). The index is
nearly always empty, so the watchdog's query costs one read a tick; as an index lags its table, what it finds is
acted on only through a write conditional on the record's own key (postpone)."""

from datetime import datetime

from backfill_core.aws_clients import dynamodb
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.settings import settings
from backfill_core.storage.conditions import written
from backfill_core.storage.executions_repository import (
    AWAITING_MESSAGE,
    AWAITING_MESSAGE_INDEX,
    EXECUTION,
    awaiting_keys,
)


def overdue(at: datetime, limit: int) -> list[str]:
    """The index keys of up to `limit` executions whose message was due before `at`, the longest overdue first."""
    response = dynamodb().query(
        TableName=settings().executions_table,
        IndexName=AWAITING_MESSAGE_INDEX,
        KeyConditionExpression="gsi3pk = :awaiting AND gsi3sk < :at",
        ExpressionAttributeValues={":awaiting": {"S": AWAITING_MESSAGE}, ":at": {"S": storage_key(at)}},
        Limit=limit,
    )
    return [item["gsi3sk"]["S"] for item in response["Items"]]


def execution_of(key: str) -> tuple[str, str]:
    """The tenant and the id of the execution an index key names."""
    _, tenant, execution_id = key.split("#", 2)
    return tenant, execution_id


def postpone(key: str, due: datetime) -> bool:
    """Move the execution's due date on, if it still waits as the index showed it (False: an executor took it,
    or it was written since). Only the index key moves: the record's own `messageDue` stays, so a later write of
    the record can only make it due sooner, never later."""
    tenant, execution_id = execution_of(key)
    return written(
        dynamodb().update_item,
        TableName=settings().executions_table,
        Key={"pk": {"S": execution_id}, "sk": {"S": EXECUTION}},
        UpdateExpression="SET gsi3sk = :later",
        ConditionExpression="gsi3sk = :seen",
        ExpressionAttributeValues={":seen": {"S": key}, ":later": awaiting_keys(tenant, execution_id, due)["gsi3sk"]},
    )
