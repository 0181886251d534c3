"""ExecutionsTable's sparse AwaitingMessage index: the executions written before their queue message was sent,
until an executor takes them (executions_repository writes the index keys while the record says so). The index is
nearly always empty, so the watchdog's query costs one read a tick; as an index lags its table, what it finds is
acted on only through a write conditional on the record's own key (postpone)."""

from dataclasses import dataclass
from datetime import datetime

from backfill_core.aws_clients import dynamodb
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.settings import settings
from backfill_core.storage.conditions import written
from backfill_core.storage.executions_repository import AWAITING_MESSAGE, AWAITING_MESSAGE_INDEX, EXECUTION


@dataclass(frozen=True)
class Awaiting:
    """One entry of the index: the execution and the key its due date sorts under."""

    tenant: str
    execution_id: str
    key: str


def overdue(at: datetime, limit: int) -> list[Awaiting]:
    """Up to `limit` executions whose message was due before `at`, the longest overdue first."""
    response = dynamodb().query(
        TableName=settings().executions_table,
        IndexName=AWAITING_MESSAGE_INDEX,
        KeyConditionExpression="gsi3pk = :awaiting AND gsi3sk < :at",
        ExpressionAttributeValues={":awaiting": {"S": AWAITING_MESSAGE}, ":at": {"S": storage_key(at)}},
        Limit=limit,
    )
    found = []
    for item in response["Items"]:
        _, tenant, execution_id = item["gsi3sk"]["S"].split("#", 2)
        found.append(Awaiting(tenant, execution_id, item["gsi3sk"]["S"]))
    return found


def postpone(awaiting: Awaiting, due: datetime) -> bool:
    """Move the execution's due date on, if it still waits as the index showed it (False: an executor took it,
    or it was written since). Only the index key moves: the record's own `messageDue` stays, so a later write of
    the record can only make it due sooner, never later."""
    key = f"{storage_key(due)}#{awaiting.tenant}#{awaiting.execution_id}"
    return written(
        dynamodb().update_item,
        TableName=settings().executions_table,
        Key={"pk": {"S": awaiting.execution_id}, "sk": {"S": EXECUTION}},
        UpdateExpression="SET gsi3sk = :later",
        ConditionExpression="gsi3sk = :seen",
        ExpressionAttributeValues={":seen": {"S": awaiting.key}, ":later": {"S": key}},
    )
