"""The trigger list: every trigger of every flow, of any type, on its STATE item (triggers_repository) and on the
sparse TriggersByIdentity index (partition: tenant; sort: namespace#flowId#triggerId), so that Kestra's trigger
search in its default order reads its page, never every flow; and how many a tenant has, kept exact in a few
counter items beside them, so that the search's `total` costs one read whatever the number of flows.

The items are written with the flow, in the transaction that stores each revision (flows_repository): a trigger
is listed, and a Schedule trigger put due at once (due_triggers), in the same write; one the revision drops is
unlisted and leaves the due index. A flow's delete deletes its triggers' STATE items. Namespaces and ids hold
only [a-zA-Z0-9._-], all above '#', so the sort key orders as (namespace, flowId, triggerId) do.

The count: a STATE item the count includes carries COUNTED, and every write that adds or removes COUNTED is
conditioned on the item having or lacking it as read just before, in one transaction with the `ADD` of +1 or -1
to its flow's counter item (COUNT_SHARDS of them per tenant, so saves of different flows seldom meet on one);
a write that finds the item changed since (a delete, the scheduler's listing of older flows) reads it again.
So the counters sum to the number of items carrying COUNTED, exactly. Items listed before the count existed lack
COUNTED until their flow's next save or the scheduler's listing (MIGRATION) counts them.
"""

import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping

from botocore.exceptions import ClientError

from backfill_core.aws_clients import dynamodb
from backfill_core.errors import Conflict, Invalid
from backfill_core.settings import settings
from backfill_core.storage import batches
from backfill_core.storage.due_triggers import SET_DUE, due_values, state_key
from backfill_core.triggers.model import TriggerKey

LISTING_INDEX = "TriggersByIdentity"
MAX_TRIGGERS = 98  # a revision, its triggers' items and its counter's in one transaction (at most 100 items)
COUNTED = "listCounted"
COUNT_SHARDS = 8
LISTING_ATTEMPTS = 4  # reads and writes again while a delete or another save changes the same items
MIGRATION = {"pk": {"S": "MIGRATION#trigger-listing"}, "sk": {"S": "2"}}  # on no index; 2: counted too


def _identity(key: TriggerKey) -> str:
    return f"{key.namespace}#{key.flow_id}#{key.trigger_id}"


def _counter_key(tenant: str, shard: str) -> dict:
    """Upper-case, so no tenant's trigger (tenants are lower-case) has this partition key; on no index."""
    return {"pk": {"S": f"LISTED#{tenant}"}, "sk": {"S": shard}}


def _shard(key: TriggerKey) -> str:
    """One flow's triggers count in one counter item: its save changes one."""
    return str(zlib.crc32(f"{key.tenant}#{key.namespace}#{key.flow_id}".encode()) % COUNT_SHARDS)


def _counter_change(key: TriggerKey, change: int) -> dict:
    return {
        "Update": {
            "TableName": settings().triggers_table,
            "Key": _counter_key(key.tenant, _shard(key)),
            "UpdateExpression": "ADD #count :change",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {":change": {"N": str(change)}},
        }
    }


def _counted(keys: list[TriggerKey]) -> set[str]:
    """The pks of those whose STATE item the count includes now (a consistent read)."""
    items = batches.get_items(
        settings().triggers_table,
        [state_key(key) for key in keys],
        consistent=True,
        ProjectionExpression="pk, #counted",
        ExpressionAttributeNames={"#counted": COUNTED},
    )
    return {item["pk"]["S"] for item in items if COUNTED in item}


def _listed(key: TriggerKey, schedule: bool, counted: bool) -> dict:
    """The update that lists a trigger (and puts a Schedule one due at once), counting it if it is not yet."""
    values = {":tenant": {"S": key.tenant}, ":identity": {"S": _identity(key)}, ":yes": {"BOOL": True}}
    return {
        "Update": {
            "TableName": settings().triggers_table,
            "Key": state_key(key),
            "UpdateExpression": "SET listTenant = :tenant, listKey = :identity, #counted = :yes"
            + (f", {SET_DUE}" if schedule else ""),
            "ConditionExpression": "attribute_exists(#counted)" if counted else "attribute_not_exists(#counted)",
            "ExpressionAttributeNames": {"#counted": COUNTED},
            "ExpressionAttributeValues": values | (due_values(key) if schedule else {}),
        }
    }


def _unlisted(key: TriggerKey, counted: bool) -> dict:
    """The update for a trigger its flow no longer declares: out of the list, the count and the due index."""
    return {
        "Update": {
            "TableName": settings().triggers_table,
            "Key": state_key(key),
            "UpdateExpression": "REMOVE listTenant, listKey, #counted, due, dueShard",
            "ConditionExpression": "attribute_exists(#counted)" if counted else "attribute_not_exists(#counted)",
            "ExpressionAttributeNames": {"#counted": COUNTED},
        }
    }


def _changes(
    key: Callable[[str], TriggerKey], declared: Mapping[str, bool], dropped: list[str], relisting: bool
) -> list[dict]:
    """The transaction items that list the `declared` triggers (id: whether a Schedule) and unlist the `dropped`
    ones of a flow (`key`: its trigger's key by id), each conditioned on the count including it or not as read now,
    and the counter's change."""
    keys = {trigger_id: key(trigger_id) for trigger_id in [*declared, *dropped]}
    counted = _counted(list(keys.values()))
    items, change = [], 0
    for trigger_id, schedule in declared.items():
        one = keys[trigger_id]
        if relisting and one.pk in counted:
            continue  # listed and counted already: left as it is (not put due again)
        items.append(_listed(one, schedule, one.pk in counted))
        change += one.pk not in counted
    for trigger_id in dropped:
        one = keys[trigger_id]
        items.append(_unlisted(one, one.pk in counted))
        change -= one.pk in counted
    if change:
        items.append(_counter_change(next(iter(keys.values())), change))  # one flow's: one counter item
    return items


def _raced(exc: ClientError) -> bool:
    """The transaction was cancelled by a trigger's item or the counter (changed since read, or held by another
    transaction), not by the first item's own condition: read again and retry."""
    codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
    return (
        exc.response["Error"]["Code"] == "TransactionCanceledException"
        and codes[:1] == ["None"]
        and any(code in ("ConditionalCheckFailed", "TransactionConflict") for code in codes[1:])
    )


def write_with_triggers(
    first: dict,
    key: Callable[[str], TriggerKey],
    declared: Mapping[str, bool],
    dropped: Iterable[str] = (),
    relisting: bool = False,
) -> None:
    """Write `first` (a flow's revision as a transaction item, or a check that it is unchanged) with the listing of
    the flow's `declared` triggers (id: whether a Schedule, put due at once) and the unlisting of the `dropped` ones
    (`key`: its trigger's key by id; `relisting`: the scheduler listing older flows, which leaves those
    already counted alone). ClientError when `first`'s condition fails; Conflict while the triggers keep changing."""
    gone = sorted(set(dropped) - set(declared))
    if len(declared) + len(gone) > MAX_TRIGGERS:
        raise Invalid(f"triggers: a flow may declare at most {MAX_TRIGGERS} triggers")
    for _ in range(LISTING_ATTEMPTS):
        items = _changes(key, declared, gone, relisting)
        if not items:
            if "Put" in first:
                dynamodb().put_item(**first["Put"])
            return
        try:
            dynamodb().transact_write_items(TransactItems=[first, *items])
            return
        except ClientError as exc:
            if not _raced(exc):
                raise
    some = key("")
    raise Conflict(f"The triggers of flow {some.namespace}.{some.flow_id} are changing; retry")


def delete_state(key: TriggerKey) -> None:
    """Delete a trigger's STATE item (its flow is being deleted), out of the count with it."""
    for _ in range(LISTING_ATTEMPTS):
        counted = bool(_counted([key]))
        delete = {
            "Delete": {
                "TableName": settings().triggers_table,
                "Key": state_key(key),
                "ConditionExpression": "attribute_exists(#counted)" if counted else "attribute_not_exists(#counted)",
                "ExpressionAttributeNames": {"#counted": COUNTED},
            }
        }
        try:
            if counted:
                dynamodb().transact_write_items(TransactItems=[delete, _counter_change(key, -1)])
            else:
                dynamodb().delete_item(**delete["Delete"])
            return
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code not in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                raise
    raise Conflict(f"Trigger {key.namespace}.{key.flow_id}.{key.trigger_id} is changing; retry")


def _prefixes(namespace: str | None) -> list[str]:
    """The listKey prefixes of the triggers in a namespace or below it, in order ('' : all the tenant's)."""
    if not namespace:
        return [""]
    return [namespace + after for after in ("#", ".")]  # the namespace itself, then those below it ('#' < '.')


def _pages(tenant: str, prefix: str, **query) -> Iterator[dict]:
    condition = "listTenant = :tenant" + (" AND begins_with(listKey, :prefix)" if prefix else "")
    query = {
        "TableName": settings().triggers_table,
        "IndexName": LISTING_INDEX,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": {":tenant": {"S": tenant}} | ({":prefix": {"S": prefix}} if prefix else {}),
        **query,
    }
    while True:
        answer = dynamodb().query(**query)
        yield answer
        if "LastEvaluatedKey" not in answer:
            return
        query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def page(tenant: str, namespace: str | None, skip: int, take: int) -> tuple[list[TriggerKey], int | None]:
    """The triggers from the `skip`-th, at most `take`, in identity order (reading `skip + take` keys at most), and
    how many there are when they end before `skip + take` (else None)."""
    found: list[str] = []
    for prefix in _prefixes(namespace):
        for answer in _pages(tenant, prefix, Limit=skip + take):
            found += [item["pk"]["S"] for item in answer["Items"]]
            if len(found) >= skip + take:
                return [TriggerKey(*pk.split("#", 3)) for pk in found[skip : skip + take]], None
    return [TriggerKey(*pk.split("#", 3)) for pk in found[skip : skip + take]], len(found)


def count(tenant: str) -> int:
    """How many of the tenant's triggers the count includes: its counter items, one Query."""
    answer = dynamodb().query(
        TableName=settings().triggers_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": _counter_key(tenant, "")["pk"]},
        ConsistentRead=True,
    )
    return sum(int(item["count"]["N"]) for item in answer["Items"])


def count_after(tenant: str, namespace: str, after: TriggerKey, limit: int) -> int:
    """How many of the namespace's listed triggers follow `after` in identity order, counted without reading them
    (Select COUNT): all of them, or as soon as there are more than `limit`, that many or a few more."""
    counted = 0
    prefixes = _prefixes(namespace)
    first = next(n for n, prefix in enumerate(prefixes) if _identity(after).startswith(prefix))
    start = {"listTenant": {"S": tenant}, "listKey": {"S": _identity(after)}} | state_key(after)
    for n, prefix in enumerate(prefixes[first:]):
        query = {"Select": "COUNT"} | ({"ExclusiveStartKey": start} if n == 0 else {})
        for answer in _pages(tenant, prefix, **query, Limit=limit + 1):
            counted += answer["Count"]
            if counted > limit:
                return counted
    return counted


def migration() -> tuple[bool, dict | None]:
    """Whether the flows stored before the list (or its count) existed are all listed, and if not, where the Scan
    of them got to."""
    item = dynamodb().get_item(TableName=settings().triggers_table, Key=MIGRATION, ConsistentRead=True).get("Item")
    if item is None:
        return False, None
    return "done" in item, json.loads(item["after"]["S"]) if "after" in item else None


def migrated_to(after: dict | None) -> None:
    """Where the Scan got to, all listed before it (None: to the end: done)."""
    progress = {"after": {"S": json.dumps(after)}} if after is not None else {"done": {"BOOL": True}}
    dynamodb().put_item(TableName=settings().triggers_table, Item=MIGRATION | progress)
