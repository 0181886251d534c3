"""FlowsTable: one item per flow, keyed by tenant#namespace and flow id; holds the YAML and its revision.

`backfillStarts` counts the backfills that started (or started again) running since the revision was
stored: a write that starts one carries `backfill_start(...)` in its transaction, so it lands only on the
revision it was planned on, and a delete of the flow that read the count refuses if one started since.

Read leniently, validated on write: the API validates a flow before it stores it; a read parses the stored
YAML once per revision in a warm function (cached), and a stored flow that no longer validates (a later,
stricter validator refuses it) is read as it is, its `flow` None and its `problem` saying why, so that
one such flow never stops a tick, the watchdog or a search for the others. Its triggers are then treated as
disabled: no live slot of it runs and its backfills are held until a valid revision is stored.

An executor reads the flow it runs through `find_current`: at most once every FLOW_CACHE_SECONDS per warm
process, and afresh as soon as this process stores or deletes it. A revision stored through another process (the
API's function, on AWS) is run by every execution created more than FLOW_CACHE_SECONDS after it was stored: the
bound on Kestra's rule that an execution runs its flow's current revision (0 reads it for every execution).
"""

import time
from collections.abc import Iterable
from functools import lru_cache, partial

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from backfill_core.aws_clients import dynamodb
from backfill_core.errors import ConcurrentUpdate, Conflict, Invalid, NotFound
from backfill_core.flows.model import Flow, parse_flow
from backfill_core.flows.stored import StoredFlow
from backfill_core.schedules.kestra_time import format_date, now
from backfill_core.settings import settings
from backfill_core.storage import batches, trigger_listing
from backfill_core.storage.conditions import condition_failed
from backfill_core.triggers.model import TriggerKey

_current: dict[tuple[str, str, str, str], tuple[float, StoredFlow | None]] = {}  # find_current's, by flow
PARSED_REVISIONS = 256  # flow revisions a warm function keeps parsed (each at most a request body, 128 KB)
logger = Logger(child=True)


def _pk(tenant: str, namespace: str) -> str:
    return f"{tenant}#{namespace}"


@lru_cache(maxsize=PARSED_REVISIONS)
def _parsed(tenant: str, namespace: str, flow_id: str, revision: int, source: str) -> Flow | str:
    """The flow of one stored revision, or why it no longer validates; parsed once per warm function (the
    source is part of the key: a flow deleted and registered again starts its revisions afresh)."""
    try:
        return parse_flow(source)
    except Invalid as exc:
        problem = exc.message
    except Exception as exc:  # a validator that breaks on an old flow must not break the reads of the others
        logger.exception("stored flow could not be parsed", extra={"flow": f"{namespace}.{flow_id}"})
        problem = f"it cannot be read ({type(exc).__name__}: {exc})"
    logger.warning(
        "stored flow no longer validates: its triggers are treated as disabled until a valid revision is stored",
        extra={"tenant": tenant, "flow": f"{namespace}.{flow_id}", "revision": revision, "problem": problem},
    )
    return problem


def _stored(item: dict) -> StoredFlow:
    tenant, source, revision = item["tenant"]["S"], item["source"]["S"], int(item["revision"]["N"])
    namespace = item["pk"]["S"].removeprefix(f"{tenant}#")
    parsed = _parsed(tenant, namespace, item["sk"]["S"], revision, source)
    return StoredFlow(
        namespace=namespace,
        id=item["sk"]["S"],
        flow=parsed if isinstance(parsed, Flow) else None,
        problem=parsed if isinstance(parsed, str) else None,
        source=source,
        revision=revision,
        tenant=tenant,
        updated=item["updated"]["S"],
        created=item.get("created", item["updated"])["S"],
        backfill_starts=int(item["backfillStarts"]["N"]) if "backfillStarts" in item else 0,
    )


def _item(tenant: str, flow: Flow, source: str, revision: int, created: str | None = None) -> dict:
    updated = format_date(now())
    return {
        "pk": {"S": _pk(tenant, flow.namespace)},
        "sk": {"S": flow.id},
        "tenant": {"S": tenant},
        "source": {"S": source},
        "revision": {"N": str(revision)},
        "updated": {"S": updated},
        "created": {"S": created or updated},
    }


def _put(tenant: str, flow: Flow, put: dict, dropped: Iterable[str] = ()) -> None:
    """Store a revision, and in the same transaction list its triggers, put its Schedule ones due at once (the next
    tick sees the new revision), and unlist those of the `dropped` ids (storage/trigger_listing)."""
    declared = {trigger.id: trigger.is_schedule for trigger in flow.triggers}
    key = partial(TriggerKey, tenant, flow.namespace, flow.id)
    trigger_listing.write_with_triggers({"Put": put}, key, declared, dropped)


def unchanged(stored: StoredFlow) -> dict:
    """The transaction item of a write that must land only while the flow is as read: not deleted, no new revision."""
    return {
        "ConditionCheck": {
            "TableName": settings().flows_table,
            "Key": _key(stored),
            "ConditionExpression": "revision = :revision",
            "ExpressionAttributeValues": {":revision": {"N": str(stored.revision)}},
        }
    }


def _exists(exc: ClientError) -> bool:
    """The flow's own condition failed (alone, or first in the transaction of _put)."""
    reasons = exc.response.get("CancellationReasons") or [{}]
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException" or (
        reasons[0].get("Code") == "ConditionalCheckFailed"
    )


def create(tenant: str, flow: Flow, source: str) -> StoredFlow:
    item = _item(tenant, flow, source, 1)
    try:
        _put(
            tenant,
            flow,
            {"TableName": settings().flows_table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"},
        )
    except ClientError as exc:
        if _exists(exc):
            raise Invalid(f"Flow id already exists: {flow.namespace}.{flow.id}") from exc
        if condition_failed(exc):
            raise Conflict(f"Flow {flow.namespace}.{flow.id} is changing; retry") from exc
        raise
    forget(tenant, flow.namespace, flow.id)
    return _stored(item)


def update(tenant: str, flow: Flow, source: str) -> StoredFlow:
    """Store a new revision; the flow must exist."""
    current = get(tenant, flow.namespace, flow.id)
    item = _item(tenant, flow, source, current.revision + 1, current.created)
    try:
        _put(
            tenant,
            flow,
            {
                "TableName": settings().flows_table,
                "Item": item,
                "ConditionExpression": "revision = :seen",
                "ExpressionAttributeValues": {":seen": {"N": str(current.revision)}},
            },
            current.trigger_ids,
        )
    except ClientError as exc:
        # A transaction starting a backfill of this flow can hold the item for a moment (TransactionConflict).
        if exc.response["Error"]["Code"] == "TransactionConflictException" or condition_failed(exc):
            raise Conflict(f"Flow {flow.namespace}.{flow.id} was updated concurrently; retry") from exc
        raise
    forget(tenant, flow.namespace, flow.id)
    return _stored(item)


def find(tenant: str, namespace: str, flow_id: str) -> StoredFlow | None:
    response = dynamodb().get_item(
        TableName=settings().flows_table,
        Key={"pk": {"S": _pk(tenant, namespace)}, "sk": {"S": flow_id}},
        ConsistentRead=True,
    )
    return _stored(response["Item"]) if "Item" in response else None


def find_current(tenant: str, namespace: str, flow_id: str) -> StoredFlow | None:
    """The flow as an executor runs it: as read at most FLOW_CACHE_SECONDS ago by this process (see above)."""
    key = (settings().flows_table, tenant, namespace, flow_id)
    at, seen = time.monotonic(), _current.get(key)
    if seen is not None and at - seen[0] < settings().flow_cache_seconds:
        return seen[1]
    stored = find(tenant, namespace, flow_id)
    if len(_current) >= PARSED_REVISIONS:
        _current.clear()
    _current[key] = (at, stored)
    return stored


def forget(tenant: str, namespace: str, flow_id: str) -> None:
    """Read the flow afresh at its next `find_current`: this process stored or deleted it."""
    _current.pop((settings().flows_table, tenant, namespace, flow_id), None)


def forget_all() -> None:
    """Read every flow afresh (tests that make a new table under the same name)."""
    _current.clear()


def find_many(tenant: str, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredFlow]:
    """The flows of (namespace, id) pairs that exist, by pair (a page of a search)."""
    wanted = [{"pk": {"S": _pk(tenant, namespace)}, "sk": {"S": flow_id}} for namespace, flow_id in dict.fromkeys(keys)]
    found = map(_stored, batches.get_items(settings().flows_table, wanted, consistent=True))
    return {(stored.namespace, stored.id): stored for stored in found}


def get(tenant: str, namespace: str, flow_id: str) -> StoredFlow:
    stored = find(tenant, namespace, flow_id)
    if stored is None:
        raise NotFound(f"Flow not found: namespace '{namespace}', flowId '{flow_id}'")
    return stored


def _key(stored: StoredFlow) -> dict:
    return {"pk": {"S": _pk(stored.tenant, stored.namespace)}, "sk": {"S": stored.id}}


def backfill_start(stored: StoredFlow) -> dict:
    """The transaction item of a write that starts a backfill of this flow: it fails if the flow was deleted
    or a new revision stored since `stored` was read, and tells a concurrent delete that one started."""
    return {
        "Update": {
            "TableName": settings().flows_table,
            "Key": _key(stored),
            "UpdateExpression": "ADD backfillStarts :one",
            "ConditionExpression": "revision = :revision",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":revision": {"N": str(stored.revision)}},
        }
    }


def delete(stored: StoredFlow) -> None:
    """Delete the flow as read: ConcurrentUpdate if it was deleted, updated or had a backfill start since
    (the caller reads it again, and cancels what started)."""
    values = {":revision": {"N": str(stored.revision)}}
    if stored.backfill_starts:
        values[":starts"] = {"N": str(stored.backfill_starts)}
    starts = "backfillStarts = :starts" if stored.backfill_starts else "attribute_not_exists(backfillStarts)"
    try:
        dynamodb().delete_item(
            TableName=settings().flows_table,
            Key=_key(stored),
            ConditionExpression=f"revision = :revision AND {starts}",
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("ConditionalCheckFailedException", "TransactionConflictException"):
            raise ConcurrentUpdate(f"{stored.namespace}.{stored.id}") from exc
        raise
    forget(stored.tenant, stored.namespace, stored.id)


def list_flows(tenant: str, namespace: str | None = None) -> list[StoredFlow]:
    """Flows of one namespace (a Query) or of the whole tenant (a Scan: the flow list is small)."""
    if namespace:
        pages = (
            dynamodb()
            .get_paginator("query")
            .paginate(
                TableName=settings().flows_table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": _pk(tenant, namespace)}},
            )
        )
        return _sorted(item for page in pages for item in page["Items"])
    return _scan(FilterExpression="tenant = :tenant", ExpressionAttributeValues={":tenant": {"S": tenant}})


def flows_page(after: dict | None) -> tuple[list[StoredFlow], dict | None]:
    """One page of a Scan of every tenant's flows, from `after` (None: the first), and where the next starts (None:
    that was the last)."""
    answer = dynamodb().scan(TableName=settings().flows_table, **({"ExclusiveStartKey": after} if after else {}))
    return [_stored(item) for item in answer["Items"]], answer.get("LastEvaluatedKey")


def _scan(**condition) -> list[StoredFlow]:
    pages = dynamodb().get_paginator("scan").paginate(TableName=settings().flows_table, **condition)
    return _sorted(item for page in pages for item in page["Items"])


def _sorted(items) -> list[StoredFlow]:
    return sorted((_stored(item) for item in items), key=lambda s: (s.tenant, s.namespace, s.id))
