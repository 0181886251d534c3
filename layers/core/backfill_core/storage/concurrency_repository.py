"""ExecutionsTable's concurrency records: the places of a flow's `concurrency.limit`, and the wait of a QUEUED
execution.

A flow's places live under one key, `CONCURRENCY#tenant#namespace#flowId`, one PLACE#n item each: the id of
the execution holding it and when its lease ends. They carry no index attribute, so no search of executions sees
them. Taking a place is one conditional put that succeeds only if the place is free (never held, or its lease
ended) or already this execution's, so two executions never hold one place. A QUEUED execution's EXECUTION item
carries the token of the one message allowed to wait for it (`waitToken`) until `waitUntil`.
"""

from backfill_core.aws_clients import dynamodb
from backfill_core.flows.execution import ExecutionState
from backfill_core.settings import settings
from backfill_core.storage.conditions import written
from backfill_core.storage.execution_items import BODY
from backfill_core.storage.executions_repository import EXECUTION, end_live_leases

PLACE = "PLACE#"
# A place left behind (its flow deleted while an executor that held it was down) is deleted by the table's TTL
# this long after its lease ended; one whose lease ended is free anyway, so its deletion changes nothing.
PLACE_KEPT_SECONDS = 86_400


def flow_key(tenant: str, namespace: str, flow_id: str) -> str:
    return f"CONCURRENCY#{tenant}#{namespace}#{flow_id}"


def places(key: str) -> list[tuple[int, str, float]]:
    """Every place of the flow held now or before: (place number, holder's execution id, lease end epoch)."""
    pages = (
        dynamodb()
        .get_paginator("query")
        .paginate(
            TableName=settings().executions_table,
            KeyConditionExpression="pk = :flow AND begins_with(sk, :place)",
            ExpressionAttributeValues={":flow": {"S": key}, ":place": {"S": PLACE}},
            ConsistentRead=True,
        )
    )
    return [
        (int(item["sk"]["S"].removeprefix(PLACE)), item["holder"]["S"], float(item["leaseUntil"]["N"]))
        for page in pages
        for item in page["Items"]
    ]


def take_place(key: str, place: int, execution_id: str, lease_until: float, now_epoch: float) -> bool:
    """Hold (or renew) a place until `lease_until`; False if another execution holds it with a live lease."""
    return written(
        dynamodb().put_item,
        TableName=settings().executions_table,
        Item={
            "pk": {"S": key},
            "sk": {"S": f"{PLACE}{place:06d}"},
            "holder": {"S": execution_id},
            "leaseUntil": {"N": repr(lease_until)},
            "expiresAt": {"N": str(int(lease_until) + PLACE_KEPT_SECONDS)},
        },
        ConditionExpression="attribute_not_exists(pk) OR holder = :me OR leaseUntil < :now",
        ExpressionAttributeValues={":me": {"S": execution_id}, ":now": {"N": repr(now_epoch)}},
    )


def give_back(key: str, place: int, execution_id: str) -> None:
    """Free the place if this execution still holds it (a redelivery may give it back twice)."""
    written(
        dynamodb().delete_item,
        TableName=settings().executions_table,
        Key={"pk": {"S": key}, "sk": {"S": f"{PLACE}{place:06d}"}},
        ConditionExpression="holder = :me",
        ExpressionAttributeValues={":me": {"S": execution_id}},
    )


def wait(
    execution_id: str,
    attempt: int,
    body: dict[str, bytes] | None,
    seen_token: str | None,
    token: str,
    due: float,
    now_epoch: float,
    awaiting: dict | None = None,
) -> bool:
    """Hand the execution's wait for a place to the message carrying `token`, until `due`; `awaiting`: the
    AwaitingMessage keys of an execution run by id, which only its message moves on (executions_repository).

    Before its first attempt (CREATED, RESTARTED or QUEUED: `attempt` as it was created or restarted) the
    execution is written QUEUED (`body`: executions_repository.stored_body); an execution resumed after its
    executor died (RUNNING, its attempt's lease ended) stays as it is. Only the message whose token the item
    holds (`seen_token`) may wait on, or any message once that wait is overdue (its message lost). False
    otherwise: an attempt took it, it ended, or another message waits for it."""
    values: dict[str, dict] = {
        ":attempt": {"N": str(attempt)},
        ":token": {"S": token},
        ":seen": {"S": seen_token or ""},
        ":due": {"N": repr(due)},
        ":now": {"N": repr(now_epoch)},
    }
    if body is None:
        update = "SET waitToken = :token, waitUntil = :due"
        state = "#state = :running AND leaseUntil < :now"
        values[":running"] = {"S": ExecutionState.RUNNING}
    else:
        update = f"SET {BODY} = :body, #state = :queued, waitToken = :token, waitUntil = :due"
        state = "#state IN (:created, :restarted, :queued)"
        values |= {
            ":body": body,
            ":queued": {"S": ExecutionState.QUEUED},
            ":created": {"S": ExecutionState.CREATED},
            ":restarted": {"S": ExecutionState.RESTARTED},
        }
    if awaiting:
        update += ", gsi3pk = :awaiting, gsi3sk = :due_key"
        values |= {":awaiting": awaiting["gsi3pk"], ":due_key": awaiting["gsi3sk"]}
    return written(
        dynamodb().update_item,
        TableName=settings().executions_table,
        Key={"pk": {"S": execution_id}, "sk": {"S": EXECUTION}},
        UpdateExpression=update,
        ConditionExpression=(
            f"attempt = :attempt AND {state} "
            "AND (attribute_not_exists(waitToken) OR waitToken = :seen OR waitUntil < :now)"
        ),
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues=values,
    )


def free_all_places(now_epoch: float) -> int:
    """End the lease of every place held, for a restart after which no holder can be alive (the local stack's
    executions all ran in the process that stopped; each takes its place again as it resumes). Returns how many."""
    return end_live_leases(now_epoch, "begins_with(sk, :place)", {":place": {"S": PLACE}}, guard="holder")
