"""A backfill as two items of TriggersTable: its spec (the request and its plan), written once with the keys of
the indexes that find backfills, and its progress (storage/backfill_progress.py), which every slot's claim and
finish update, small and on no index.

Spec: pk = tenant#namespace#flowId#triggerId, sk = BACKFILL#<id>; `running` until it settles (the sparse
RunningBackfills index), `backfillId` (BackfillsById), `tenant` and `created` (BackfillsByTenant).
A spec never changes, so a warm process keeps the ones it read: a slot reads no spec after the first.
"""

import json
from collections.abc import Iterable

from backfill_core.aws_clients import dynamodb
from backfill_core.backfills.model import REQUEST_FIELDS, Backfill, BackfillSpec
from backfill_core.backfills.progress import Progress
from backfill_core.backfills.view import backfill_view
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.settings import settings
from backfill_core.storage import backfill_progress, batches
from backfill_core.storage.backfill_progress import PROGRESS

KEPT_SPECS = 2048  # specs a warm process remembers; past that it forgets them all and reads again

_specs: dict[str, BackfillSpec] = {}


def spec_key(spec: BackfillSpec) -> dict:
    return {"pk": {"S": spec.trigger_key.pk}, "sk": {"S": f"BACKFILL#{spec.id}"}}


def spec_item(spec: BackfillSpec, running: bool = True) -> dict:
    """`running`: the watchdog also looks after a cancelling backfill's running slots; only a settled one leaves
    the index."""
    return {
        **spec_key(spec),
        "body": {"S": json.dumps(spec.model_dump(mode="json", by_alias=True, include=set(REQUEST_FIELDS)))},
        "backfillId": {"S": spec.id},
        "tenant": {"S": spec.tenant},
        "created": {"S": f"{storage_key(spec.created)}#{spec.id}"},
        **({"running": {"S": "1"}} if running else {}),
    }


def set_running(spec: BackfillSpec, running: bool) -> None:
    """The spec joins the RunningBackfills index (a backfill that runs again) or leaves it (one that settled)."""
    dynamodb().update_item(**running_update(spec, running))


def running_update(spec: BackfillSpec, running: bool) -> dict:
    """set_running's update, for a transaction of its own too."""
    update = {
        "TableName": settings().triggers_table,
        "Key": spec_key(spec),
        "ExpressionAttributeNames": {"#r": "running"},
    }
    if running:
        return update | {"UpdateExpression": "SET #r = :one", "ExpressionAttributeValues": {":one": {"S": "1"}}}
    return update | {"UpdateExpression": "REMOVE #r"}


def remember(item: dict) -> BackfillSpec:
    spec = BackfillSpec.model_validate_json(item["body"]["S"])
    if len(_specs) >= KEPT_SPECS:
        _specs.clear()
    _specs[spec.id] = spec
    return spec


def spec(pk: str, backfill_id: str) -> BackfillSpec | None:
    """A backfill's spec: from this process's memory once read."""
    if backfill_id not in _specs:
        found = dynamodb().get_item(
            TableName=settings().triggers_table, Key={"pk": {"S": pk}, "sk": {"S": f"BACKFILL#{backfill_id}"}}
        )
        if "Item" not in found:
            return None
        remember(found["Item"])
    return _specs[backfill_id]


def get(pk: str, backfill_id: str) -> tuple[BackfillSpec, Progress] | None:
    """One backfill's spec and progress, the progress read strongly; both in one call the first time."""
    known = _specs.get(backfill_id)
    if known is not None:
        progress = backfill_progress.get(backfill_id)
        return (known, progress) if progress else None
    keys = [{"pk": {"S": pk}, "sk": {"S": f"BACKFILL#{backfill_id}"}}, backfill_progress.key(backfill_id)]
    items = {item["sk"]["S"]: item for item in batches.get_items(settings().triggers_table, keys, consistent=True)}
    if f"BACKFILL#{backfill_id}" not in items or PROGRESS not in items:
        return None
    return remember(items[f"BACKFILL#{backfill_id}"]), backfill_progress.progress_of(items[PROGRESS])


def view(pk: str, backfill_id: str) -> Backfill | None:
    found = get(pk, backfill_id)
    return backfill_view(*found) if found else None


def with_progress(spec_items: Iterable[dict]) -> list[Backfill]:
    """The backfills of these spec items (an index's or a query's), their progress read in batches."""
    specs = [remember(item) for item in spec_items]
    progress = {
        item["pk"]["S"].removeprefix(f"{PROGRESS}#"): backfill_progress.progress_of(item)
        for item in batches.get_items(
            settings().triggers_table, [backfill_progress.key(spec.id) for spec in specs], consistent=True
        )
    }
    return [backfill_view(spec, progress[spec.id]) for spec in specs if spec.id in progress]
