"""The due index of the live schedule: each Schedule trigger's STATE item (triggers_repository) carries the time
its next tick has work for it, on the sparse DueTriggers index, so a tick reads only the triggers that are due
(Kestra's scheduler selects next_execution_date < now), oldest first, whatever the number of flows.

`due` is a storage key (kestra_time.storage_key), or AT_ONCE for a trigger the next tick must take up whatever
its time (a flow saved, a trigger enabled, restarted or deleted); `dueShard` spreads the index's writes over a
few partitions. A trigger leaves the index when the tick finds it disabled, gone, or with no slot left; a change
that could make it due puts it back at once, in the same write as the change (so no crash loses it), and every
move the tick makes is conditioned on the `due` it read, so it never undoes such a change.
"""

import zlib
from datetime import datetime

from backfill_core.aws_clients import dynamodb
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.settings import settings
from backfill_core.storage.conditions import written
from backfill_core.triggers.model import TriggerKey

STATE = "STATE"  # the sort key of a trigger's STATE item, the item this index is on
DUE_INDEX = "DueTriggers"
SHARDS = 4
AT_ONCE = "0"  # sorts before every storage key


def shard(key: TriggerKey) -> str:
    return str(zlib.crc32(key.pk.encode()) % SHARDS)


def state_key(key: TriggerKey) -> dict:
    return {"pk": {"S": key.pk}, "sk": {"S": STATE}}


def due_values(key: TriggerKey, due: datetime | None = None) -> dict:
    """The values of `SET due = :due, dueShard = :dueShard`: due at `due`, or at once."""
    return {":due": {"S": storage_key(due) if due else AT_ONCE}, ":dueShard": {"S": shard(key)}}


SET_DUE = "due = :due, dueShard = :dueShard"


def due_triggers(until: datetime, limit: int) -> list[TriggerKey]:
    """Up to `limit` triggers due at `until` or before, the longest due first (a Query of each shard; the index
    is eventually consistent, so the tick reads each trigger's STATE again)."""
    found: list[tuple[str, str]] = []
    for one in range(SHARDS):
        items = dynamodb().query(
            TableName=settings().triggers_table,
            IndexName=DUE_INDEX,
            KeyConditionExpression="dueShard = :shard AND due <= :until",
            ExpressionAttributeValues={":shard": {"S": str(one)}, ":until": {"S": storage_key(until)}},
            Limit=limit,
        )["Items"]
        found += [(item["due"]["S"], item["pk"]["S"]) for item in items]
    return [TriggerKey(*pk.split("#", 3)) for _, pk in sorted(found)[:limit]]


def advance(
    key: TriggerKey, seen: datetime | None, to: datetime, schedule: str, due_seen: str, due: datetime | None
) -> bool:
    """Move the live schedule's evaluation date from `seen` to `to` (evaluated with `schedule`, its fingerprint) and
    the trigger from `due_seen` to `due` (None: out of the index); False if another tick or a change of the trigger
    moved either first."""
    values = {":to": {"S": storage_key(to)}, ":schedule": {"S": schedule}, ":due_seen": {"S": due_seen}}
    if seen is not None:
        values[":seen"] = {"S": storage_key(seen)}
    if due is not None:
        values |= due_values(key, due)
    return written(
        dynamodb().update_item,
        TableName=settings().triggers_table,
        Key=state_key(key),
        UpdateExpression="SET #date = :to, #schedule = :schedule"
        + (f", {SET_DUE}" if due is not None else " REMOVE due, dueShard"),
        ConditionExpression=("attribute_not_exists(#date)" if seen is None else "#date = :seen")
        + " AND due = :due_seen",
        ExpressionAttributeNames={"#date": "date", "#schedule": "schedule"},
        ExpressionAttributeValues=values,
    )


def move(key: TriggerKey, seen: str, due: datetime | None) -> bool:
    """Move a trigger from `seen` (as its STATE was read) to `due`, or out of the index (None); False if a change
    of the trigger moved it first."""
    values = {":seen": {"S": seen}}
    if due is not None:
        values |= due_values(key, due)
    return written(
        dynamodb().update_item,
        TableName=settings().triggers_table,
        Key=state_key(key),
        UpdateExpression=f"SET {SET_DUE}" if due is not None else "REMOVE due, dueShard",
        ConditionExpression="due = :seen",
        ExpressionAttributeValues=values,
    )
