"""The read side of ExecutionsTable for searches: the ByFlowStart index's keys in order, and the executions of a
page read by key.

ByFlowStart (tenant; namespace#flowId#startDate#id) projects its keys only: its entry is written once, when the
execution is created (none of its keys ever changes), so an execution's later writes cost the index nothing.
A search reads keys, which are small (about 10,000 in one 1 MB Query), to find its page, then reads that page's
executions with BatchGetItem; what a search costs grows with the page it asks for, not with the flow's history.
"""

from collections.abc import Collection, Iterator

from backfill_core.aws_clients import dynamodb
from backfill_core.flows.execution import Execution
from backfill_core.flows.execution_key import ExecutionKey
from backfill_core.flows.model import in_namespace
from backfill_core.settings import settings
from backfill_core.storage import batches
from backfill_core.storage.executions_repository import BY_FLOW_INDEX, EXECUTION, _execution

BATCH_GET_KEYS = 100  # BatchGetItem's most keys a call
UNPROCESSED_RETRIES = 8  # BatchGetItem hands back what throttling kept; each retry waits up to a doubling bound
UNPROCESSED_BACKOFF_SECONDS = 0.05
LAST = "~"  # after every character a ByFlowStart sort key holds after its namespace#flowId# prefix


def flow_prefix(namespace: str, flow_id: str) -> str:
    return f"{namespace}#{flow_id}#"


def flow_keys(tenant: str, low: str, high: str, newest_first: bool, chunk: int) -> Iterator[ExecutionKey]:
    """The tenant's keys of ByFlowStart between two sort keys (inclusive; from "" the first), in index order (newest
    first if asked), read lazily `chunk` at a time: a caller that stops early reads no further."""
    request = {
        "TableName": settings().executions_table,
        "IndexName": BY_FLOW_INDEX,
        **_between(tenant, low, high),
        "ProjectionExpression": "gsi1sk",
        "ScanIndexForward": not newest_first,
        "Limit": chunk,
    }
    while True:
        page = dynamodb().query(**request)
        yield from (ExecutionKey.of(item["gsi1sk"]["S"]) for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        request["Limit"] = min(chunk * 2, 5000)  # a caller that reads on usually reads far


def _between(tenant: str, low: str, high: str) -> dict:
    """The key condition of a tenant's ByFlowStart keys from `low` to `high` ("" is below every key, and a key may
    not be empty)."""
    if not low:
        return {
            "KeyConditionExpression": "gsi1pk = :tenant AND gsi1sk <= :high",
            "ExpressionAttributeValues": {":tenant": {"S": tenant}, ":high": {"S": high}},
        }
    return {
        "KeyConditionExpression": "gsi1pk = :tenant AND gsi1sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": {":tenant": {"S": tenant}, ":low": {"S": low}, ":high": {"S": high}},
    }


def count_after(tenant: str, after: ExecutionKey, low: str, high: str, newest_first: bool, limit: int) -> int | None:
    """How many ByFlowStart keys between `low` and `high` follow `after` in that order, counted without reading them
    (Select COUNT); None when there are more than `limit`."""
    start = {
        "gsi1pk": {"S": tenant},
        "gsi1sk": {"S": after.sort_key},
        "pk": {"S": after.id},
        "sk": {"S": EXECUTION},
    }
    request = {
        "TableName": settings().executions_table,
        "IndexName": BY_FLOW_INDEX,
        **_between(tenant, low, high),
        "ScanIndexForward": not newest_first,
        "Select": "COUNT",
        "ExclusiveStartKey": start,
    }
    counted = 0
    while counted <= limit:
        page = dynamodb().query(**request, Limit=limit + 1 - counted)
        counted += page["Count"]
        if "LastEvaluatedKey" not in page:
            return counted
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return None


def namespace_keys(tenant: str, namespace: str | None, flow_id: str | None) -> list[ExecutionKey]:
    """Every ByFlowStart key of a tenant, of a namespace and those below it, or of one flow; in index order."""
    prefix = (flow_prefix(namespace, flow_id) if flow_id else namespace) if namespace else ""
    keys = flow_keys(tenant, prefix, prefix + LAST, newest_first=False, chunk=5000)
    return [
        key
        for key in keys
        if (not namespace or in_namespace(key.namespace, namespace)) and (not flow_id or key.flow_id == flow_id)
    ]


def executions(ids: list[str], states: Collection[str] | None = None, consistent: bool = False) -> list[Execution]:
    """The executions of these ids, in that order (one deleted since its key was read, or never written, is left
    out), read BATCH_GET_KEYS at a time; given `states`, only those in one of them (told by the item's own
    `state`, before the execution is read from its body)."""
    keys = [{"pk": {"S": i}, "sk": {"S": EXECUTION}} for i in dict.fromkeys(ids)]
    found = {
        item["pk"]["S"]: _execution(item)
        for item in batches.get_items(settings().executions_table, keys, consistent)
        if states is None or item["state"]["S"] in states
    }
    return [found[i] for i in ids if i in found]


def by_flow(tenant: str, namespace: str | None, flow_id: str | None) -> list[Execution]:
    """Executions of a tenant, of a namespace and those below it, or of one flow; each read whole."""
    return executions([key.id for key in namespace_keys(tenant, namespace, flow_id)])
