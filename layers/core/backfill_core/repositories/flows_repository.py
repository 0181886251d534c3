"""FlowsTable: one item per flow, keyed by tenant#namespace and flow id; holds the YAML and its revision."""

from dataclasses import dataclass

from botocore.exceptions import ClientError

from ..aws_clients import dynamodb
from ..errors import Invalid, NotFound
from ..flows import Flow, parse_flow
from ..kestra_time import format_date, now
from ..settings import settings


@dataclass(frozen=True)
class StoredFlow:
    flow: Flow
    source: str
    revision: int
    tenant: str
    updated: str
    created: str


def _pk(tenant: str, namespace: str) -> str:
    return f"{tenant}#{namespace}"


def _stored(item: dict) -> StoredFlow:
    return StoredFlow(
        flow=parse_flow(item["source"]["S"]),
        source=item["source"]["S"],
        revision=int(item["revision"]["N"]),
        tenant=item["tenant"]["S"],
        updated=item["updated"]["S"],
        created=item.get("created", item["updated"])["S"],
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


def create(tenant: str, flow: Flow, source: str) -> StoredFlow:
    item = _item(tenant, flow, source, 1)
    try:
        dynamodb().put_item(TableName=settings().flows_table, Item=item, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise Invalid(f"Flow id already exists: {flow.namespace}.{flow.id}") from exc
        raise
    return _stored(item)


def update(tenant: str, flow: Flow, source: str) -> StoredFlow:
    """Store a new revision; the flow must exist."""
    current = get(tenant, flow.namespace, flow.id)
    item = _item(tenant, flow, source, current.revision + 1, current.created)
    try:
        dynamodb().put_item(
            TableName=settings().flows_table,
            Item=item,
            ConditionExpression="revision = :seen",
            ExpressionAttributeValues={":seen": {"N": str(current.revision)}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise Invalid(f"Flow {flow.namespace}.{flow.id} was updated concurrently; retry") from exc
        raise
    return _stored(item)


def find(tenant: str, namespace: str, flow_id: str) -> StoredFlow | None:
    response = dynamodb().get_item(
        TableName=settings().flows_table,
        Key={"pk": {"S": _pk(tenant, namespace)}, "sk": {"S": flow_id}},
        ConsistentRead=True,
    )
    return _stored(response["Item"]) if "Item" in response else None


def get(tenant: str, namespace: str, flow_id: str) -> StoredFlow:
    stored = find(tenant, namespace, flow_id)
    if stored is None:
        raise NotFound(f"Flow not found: namespace '{namespace}', flowId '{flow_id}'")
    return stored


def delete(tenant: str, namespace: str, flow_id: str) -> None:
    try:
        dynamodb().delete_item(
            TableName=settings().flows_table,
            Key={"pk": {"S": _pk(tenant, namespace)}, "sk": {"S": flow_id}},
            ConditionExpression="attribute_exists(pk)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise NotFound(f"Flow not found: namespace '{namespace}', flowId '{flow_id}'") from exc
        raise


def list_flows(tenant: str, namespace: str | None = None) -> list[StoredFlow]:
    """Flows of one namespace (a Query) or of the whole tenant (a Scan: the flow list is small)."""
    client = dynamodb()
    if namespace:
        pages = client.get_paginator("query").paginate(
            TableName=settings().flows_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": _pk(tenant, namespace)}},
        )
    else:
        pages = client.get_paginator("scan").paginate(
            TableName=settings().flows_table,
            FilterExpression="tenant = :tenant",
            ExpressionAttributeValues={":tenant": {"S": tenant}},
        )
    flows = [_stored(item) for page in pages for item in page["Items"]]
    return sorted(flows, key=lambda s: (s.flow.namespace, s.flow.id))
