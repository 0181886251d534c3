"""The trigger list: every trigger of every flow, of any type, on its STATE item (triggers_repository) and on the
sparse TriggersByIdentity index (partition: tenant; sort: namespace#flowId#triggerId), so that Kestra's trigger
search in its default order reads its page and a count, never every flow.

The items are written with the flow, in the transaction that stores each revision (flows_repository): a trigger
is listed, and a Schedule trigger put due at once (due_triggers), in the same write; one the revision drops is
unlisted and leaves the due index. A flow's delete deletes its triggers' STATE items. Namespaces and ids hold
only [a-zA-Z0-9._-], all above '#', so the sort key orders as (namespace, flowId, triggerId) do.
"""

import json
from collections.abc import Iterator

from backfill_core.aws_clients import dynamodb
from backfill_core.settings import settings
from backfill_core.storage.due_triggers import SET_DUE, due_values, state_key
from backfill_core.triggers.model import TriggerKey

LISTING_INDEX = "TriggersByIdentity"
MAX_TRIGGERS = 99  # a revision and its triggers' items in one transaction (at most 100 items)
MIGRATION = {"pk": {"S": "MIGRATION#trigger-listing"}, "sk": {"S": "1"}}  # on no index


def _identity(key: TriggerKey) -> str:
    return f"{key.namespace}#{key.flow_id}#{key.trigger_id}"


def listed(key: TriggerKey, schedule: bool) -> dict:
    """The transaction item that lists a trigger of a revision being stored (and puts a Schedule one due)."""
    values = {":tenant": {"S": key.tenant}, ":identity": {"S": _identity(key)}}
    return {
        "Update": {
            "TableName": settings().triggers_table,
            "Key": state_key(key),
            "UpdateExpression": "SET listTenant = :tenant, listKey = :identity" + (f", {SET_DUE}" if schedule else ""),
            "ExpressionAttributeValues": values | (due_values(key) if schedule else {}),
        }
    }


def unlisted(key: TriggerKey) -> dict:
    """The transaction item for a trigger the revision being stored no longer declares."""
    return {
        "Update": {
            "TableName": settings().triggers_table,
            "Key": state_key(key),
            "UpdateExpression": "REMOVE listTenant, listKey, due, dueShard",
        }
    }


def _ranges(tenant: str, namespace: str | None) -> list[dict]:
    """The key conditions of the triggers in a namespace or below it (all the tenant's without one), in order."""
    if not namespace:
        return [
            {"KeyConditionExpression": "listTenant = :tenant", "ExpressionAttributeValues": {":tenant": {"S": tenant}}}
        ]
    return [
        {
            "KeyConditionExpression": "listTenant = :tenant AND begins_with(listKey, :prefix)",
            "ExpressionAttributeValues": {":tenant": {"S": tenant}, ":prefix": {"S": namespace + after}},
        }
        for after in ("#", ".")  # the namespace itself, then those below it ('#' sorts before '.')
    ]


def _pages(condition: dict, **query) -> Iterator[dict]:
    query = {"TableName": settings().triggers_table, "IndexName": LISTING_INDEX, **condition, **query}
    while True:
        answer = dynamodb().query(**query)
        yield answer
        if "LastEvaluatedKey" not in answer:
            return
        query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def page(tenant: str, namespace: str | None, skip: int, take: int) -> list[TriggerKey]:
    """The triggers from the `skip`-th, at most `take`, in identity order (reading `skip + take` keys at most)."""
    found: list[str] = []
    for condition in _ranges(tenant, namespace):
        for answer in _pages(condition, Limit=skip + take):
            found += [item["pk"]["S"] for item in answer["Items"]]
            if len(found) >= skip + take:
                return [TriggerKey(*pk.split("#", 3)) for pk in found[skip : skip + take]]
    return [TriggerKey(*pk.split("#", 3)) for pk in found[skip : skip + take]]


def count(tenant: str, namespace: str | None) -> int:
    """How many there are: a COUNT query (DynamoDB reads the index's keys, about 100 bytes a trigger, and
    answers the number only)."""
    return sum(
        answer["Count"] for condition in _ranges(tenant, namespace) for answer in _pages(condition, Select="COUNT")
    )


def relist(key: TriggerKey, schedule: bool) -> None:
    """List a trigger (and put a Schedule one due) outside a flow's save: flows stored before the list existed."""
    dynamodb().update_item(**listed(key, schedule)["Update"])


def migration() -> tuple[bool, dict | None]:
    """Whether the flows stored before the list existed are all listed, and if not, where the Scan of them got to."""
    item = dynamodb().get_item(TableName=settings().triggers_table, Key=MIGRATION, ConsistentRead=True).get("Item")
    if item is None:
        return False, None
    return "done" in item, json.loads(item["after"]["S"]) if "after" in item else None


def migrated_to(after: dict | None) -> None:
    """Where the Scan got to, all listed before it (None: to the end: done)."""
    progress = {"after": {"S": json.dumps(after)}} if after is not None else {"done": {"BOOL": True}}
    dynamodb().put_item(TableName=settings().triggers_table, Item=MIGRATION | progress)
