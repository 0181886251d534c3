"""A backfill as two items of TriggersTable: its request, written once with the keys of the indexes that find
backfills, and its progress, which every slot's claim and finish rewrite, small and on no index.

Request: pk = tenant#namespace#flowId#triggerId, sk = BACKFILL#<id>; `running` while unsettled (the sparse
RunningBackfills index), `backfillId` (BackfillsById), `tenant` and `created` (BackfillsByTenant).
Progress: pk = PROGRESS#<id>, sk = PROGRESS, with a `version` for optimistic concurrency.
A request never changes, so a warm process keeps the ones it read: a slot's change reads the progress only.
"""

import json
from collections.abc import Iterable
from typing import Any

from backfill_core.aws_clients import dynamodb
from backfill_core.backfills.model import Backfill
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.settings import settings

PROGRESS = "PROGRESS"
BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem
KEPT_REQUESTS = 2048  # requests a warm process remembers; past that it forgets them all and reads again

_requests: dict[str, dict[str, Any]] = {}


def request_key(backfill: Backfill) -> dict:
    return {"pk": {"S": backfill.trigger_key.pk}, "sk": {"S": f"BACKFILL#{backfill.id}"}}


def progress_key(backfill_id: str) -> dict:
    return {"pk": {"S": f"{PROGRESS}#{backfill_id}"}, "sk": {"S": PROGRESS}}


def running_attribute(backfill: Backfill) -> dict:
    """The watchdog also looks after a cancelling backfill's running slots: only a settled one leaves the index."""
    return {} if backfill.settled else {"running": {"S": "1"}}


def request_item(backfill: Backfill) -> dict:
    return {
        **request_key(backfill),
        "body": {"S": json.dumps(backfill.request, separators=(",", ":"))},
        "backfillId": {"S": backfill.id},
        "tenant": {"S": backfill.tenant},
        "created": {"S": f"{storage_key(backfill.created)}#{backfill.id}"},
        **running_attribute(backfill),
    }


def progress_item(backfill: Backfill) -> dict:
    return {
        **progress_key(backfill.id),
        "version": {"N": str(backfill.version)},
        "body": {"S": json.dumps(backfill.progress, separators=(",", ":"))},
    }


def running_update(backfill: Backfill) -> dict:
    """The request's index attribute, as a transaction item, for a backfill that settles or runs again."""
    update = {"TableName": settings().triggers_table, "Key": request_key(backfill)}
    if backfill.settled:
        return {"Update": {**update, "UpdateExpression": "REMOVE #running", "ExpressionAttributeNames": _RUNNING}}
    return {
        "Update": {
            **update,
            "UpdateExpression": "SET #running = :one",
            "ExpressionAttributeNames": _RUNNING,
            "ExpressionAttributeValues": {":one": {"S": "1"}},
        }
    }


_RUNNING = {"#running": "running"}


def backfill_of(request: dict[str, Any], progress_item: dict) -> Backfill:
    return Backfill.model_validate(
        {**request, **json.loads(progress_item["body"]["S"]), "version": int(progress_item["version"]["N"])}
    )


def remember(request_item: dict) -> dict[str, Any]:
    request = json.loads(request_item["body"]["S"])
    if len(_requests) >= KEPT_REQUESTS:
        _requests.clear()
    _requests[request["id"]] = request
    return request


def get(pk: str, backfill_id: str) -> Backfill | None:
    """One backfill, read strongly: its progress alone when its request is known to this process."""
    table = settings().triggers_table
    request = _requests.get(backfill_id)
    if request is not None:
        found = dynamodb().get_item(TableName=table, Key=progress_key(backfill_id), ConsistentRead=True)
        return backfill_of(request, found["Item"]) if "Item" in found else None
    keys = [{"pk": {"S": pk}, "sk": {"S": f"BACKFILL#{backfill_id}"}}, progress_key(backfill_id)]
    items = {item["sk"]["S"]: item for item in _batch_get(keys)}
    if f"BACKFILL#{backfill_id}" not in items or PROGRESS not in items:
        return None
    return backfill_of(remember(items[f"BACKFILL#{backfill_id}"]), items[PROGRESS])


def with_progress(request_items: Iterable[dict]) -> list[Backfill]:
    """The backfills of these request items (an index's or a query's), their progress read in batches."""
    requests = [remember(item) for item in request_items]
    progress = {
        item["pk"]["S"].removeprefix(f"{PROGRESS}#"): item
        for item in _batch_get([progress_key(request["id"]) for request in requests])
    }
    return [backfill_of(request, progress[request["id"]]) for request in requests if request["id"] in progress]


def _batch_get(keys: list[dict]) -> list[dict]:
    table = settings().triggers_table
    found: list[dict] = []
    for first in range(0, len(keys), BATCH_GET_KEYS):
        pending: dict = {table: {"Keys": keys[first : first + BATCH_GET_KEYS], "ConsistentRead": True}}
        while pending:
            answer = dynamodb().batch_get_item(RequestItems=pending)
            found += answer["Responses"].get(table, [])
            pending = answer.get("UnprocessedKeys") or {}
    return found
