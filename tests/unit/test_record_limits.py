"""The largest records our limits allow: every DynamoDB key under DynamoDB's key limits, every record under its
400 KB item, and one execution always within one answer. Built with the repositories' own item builders, so a
key that grows is caught here."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from backfill_core.backfills.model import BackfillSpec
from backfill_core.backfills.progress import Progress
from backfill_core.flows.execution import Execution, ExecutionTrigger, State, StateHistory, TaskRun, TaskRunAttempt
from backfill_core.flows.inputs import MAX_INPUT_BYTES, MAX_INPUTS_BYTES, resolve
from backfill_core.flows.labels import MAX_LABEL_KEY, MAX_LABELS_BYTES, normalize_labels
from backfill_core.flows.model import MAX_TASKS, parse_flow
from backfill_core.flows.runner import transition
from backfill_core.ids import MAX_FLOW_ID, MAX_ID, MAX_NAMESPACE, new_id
from backfill_core.ids import backfill_execution_id as execution_id
from backfill_core.kestra_api.searches import MAX_ANSWER_BYTES, answer_bytes
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.settings import settings
from backfill_core.storage import backfill_items, backfill_progress, executions_repository, flows_repository
from backfill_core.storage.execution_items import BODY, LOG_LINES, unpacked
from bench.fake_aws.units import item_size

# DynamoDB's limits: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
PARTITION_KEY_BYTES = 2048
SORT_KEY_BYTES = 1024
ITEM_BYTES = 400 * 1024

TENANT = "t" * MAX_NAMESPACE  # the tenant is configuration (KESTRA_TENANT): allow it a namespace's length
NAMESPACE = "n" * MAX_NAMESPACE
FLOW_ID = "f" * MAX_FLOW_ID
TRIGGER_ID = "s" * MAX_ID
AT = datetime(2024, 3, 28, 6, 30, tzinfo=UTC)


def longest_flow() -> str:
    """A flow at every id limit, with as many tasks as allowed and inputs to fill the inputs' bound."""
    tasks = "".join(
        f"  - id: {str(n).rjust(MAX_ID, 'k')}\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        for n in range(MAX_TASKS)
    )
    inputs = "".join(f"  - id: {str(n).rjust(MAX_ID, 'i')}\n    type: STRING\n" for n in range(2))
    return (
        f"id: {FLOW_ID}\nnamespace: {NAMESPACE}\ninputs:\n{inputs}tasks:\n{tasks}triggers:\n"
        f"  - id: {TRIGGER_ID}\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '*/30 * * * *'\n"
    )


def largest_labels():
    """Labels at the count limit whose stored JSON comes as close to the bound as allowed: quotes, escaped twice."""
    count = settings().max_labels
    size = 1
    while True:
        candidate = [{"key": str(n).rjust(MAX_LABEL_KEY, "k"), "value": '"' * (size + 1)} for n in range(count)]
        try:
            normalize_labels(candidate)
        except ValueError:
            break
        size += 1
    return normalize_labels([{"key": str(n).rjust(MAX_LABEL_KEY, "k"), "value": '"' * size} for n in range(count)])


def largest_inputs(flow):
    """The flow's two STRING inputs filled with quotes up to the inputs' bounds (each, and together)."""
    names = [spec.id for spec in flow.inputs]
    per_value = min(MAX_INPUT_BYTES, MAX_INPUTS_BYTES // 2 - len(names[0]) - 8) // 2 - 1
    return resolve(flow.inputs, None, {name: '"' * per_value for name in names}, flow.variables(1))


def state(at: datetime, *steps: str) -> State:
    current = State(current="CREATED", histories=[StateHistory(state="CREATED", date=at)], start_date=at)
    for n, step in enumerate(steps, 1):
        current = transition(current, step, at + timedelta(seconds=n))
    return current


def largest_execution(flow) -> Execution:
    execution = Execution(
        id=execution_id(new_id(), storage_key(AT)),
        tenant_id=TENANT,
        namespace=NAMESPACE,
        flow_id=FLOW_ID,
        flow_revision=2**31 - 1,
        labels=largest_labels(),
        inputs=largest_inputs(flow),
        trigger=ExecutionTrigger(
            id=TRIGGER_ID,
            type="io.kestra.plugin.core.trigger.Schedule",
            variables={"date": AT.isoformat(), "next": AT.isoformat(), "previous": AT.isoformat(), "backfill": True},
        ),
        state=state(AT, "RUNNING", "FAILED"),
        backfill_id=new_id(),
        scheduled_date=AT,
        attempt=3,
    )
    for task in flow.tasks:
        ended = state(AT, "RUNNING", "FAILED")
        execution.task_run_list.append(
            TaskRun(
                id=new_id(),
                execution_id=execution.id,
                namespace=NAMESPACE,
                flow_id=FLOW_ID,
                task_id=task.id,
                state=ended,
                attempts=[TaskRunAttempt(state=ended)],
                outputs={"exitCode": -9},
            )
        )
    return execution


@pytest.fixture(scope="module")
def flow():
    return parse_flow(longest_flow())


def test_the_longest_ids_kestra_allows_register(flow):
    assert (len(flow.id), len(flow.namespace), len(flow.triggers[0].id)) == (MAX_FLOW_ID, MAX_NAMESPACE, MAX_ID)
    assert len(flow.tasks) == MAX_TASKS


def test_every_key_of_the_longest_ids_fits_dynamodbs_key_limits(flow):
    """Was: a 1,000-character flow id overflowed the executions' ByFlow sort key, and a long trigger id the
    triggers' partition key (and the RunningBackfills index's sort key, which is that same key)."""
    execution = executions_repository._item(largest_execution(flow))
    backfill = backfill_items.spec_item(
        BackfillSpec(
            id=new_id(),
            tenant=TENANT,
            namespace=NAMESPACE,
            flow_id=FLOW_ID,
            trigger_id=TRIGGER_ID,
            trigger_type="io.kestra.plugin.core.trigger.Schedule",
            cron="*/30 * * * *",
            timezone="America/Argentina/ComodRivadavia",
            start=AT,
            end=AT,
            created=AT,
        )
    )
    stored_flow = flows_repository._item(TENANT, flow, longest_flow(), 2**31 - 1)
    partition_keys = [
        stored_flow["pk"],
        backfill["pk"],  # the table's, and the sort key of RunningBackfills
        backfill["backfillId"],
        backfill["tenant"],
        execution["pk"],
        execution["gsi1pk"],
        execution["gsi2pk"],
    ]
    sort_keys = [
        stored_flow["sk"],
        backfill["sk"],
        backfill["pk"],
        backfill["created"],
        execution["sk"],
        execution["gsi1sk"],
        execution["gsi2sk"],
    ]
    assert max(len(key["S"].encode()) for key in partition_keys) <= PARTITION_KEY_BYTES
    assert max(len(key["S"].encode()) for key in sort_keys) <= SORT_KEY_BYTES


def test_the_largest_execution_fits_one_item_and_one_answer(flow):
    """Labels, inputs and task runs at their limits: the record fits DynamoDB's item, so it can always be
    written, and a page of one always fits an answer (a larger page is refused with the size that fits)."""
    execution = largest_execution(flow)
    labels = sum(len(label.model_dump_json()) for label in execution.labels)
    assert MAX_LABELS_BYTES * 0.9 < labels <= MAX_LABELS_BYTES + len(execution.labels)
    item = executions_repository._item(execution)
    assert item_size(item) < ITEM_BYTES
    # Its body and lines are compressed; were they data that does not compress at all, it would still fit.
    text = {name: {"S": json.dumps(unpacked(item, name))} for name in (BODY, LOG_LINES) if name in item}
    assert item_size(item | text) < ITEM_BYTES
    worst = answer_bytes(execution.to_json())
    assert worst < MAX_ANSWER_BYTES / 10
    print(f"largest execution: {worst:,} bytes in an answer; {MAX_ANSWER_BYTES // worst} of them fit one page")


def test_the_largest_backfill_record_fits_one_item(flow):
    """The backfill's spec holds its labels and resolved inputs; its progress a lane per slot of its window."""
    window = settings().max_concurrency
    spec = BackfillSpec(
        id=new_id(),
        tenant=TENANT,
        namespace=NAMESPACE,
        flow_id=FLOW_ID,
        trigger_id=TRIGGER_ID,
        trigger_type="io.kestra.plugin.core.trigger.Schedule",
        cron="*/30 * * * *",
        timezone="America/Argentina/ComodRivadavia",
        start=AT,
        end=AT,
        created=AT,
        labels=largest_labels(),
        inputs=largest_inputs(flow),
    )
    assert item_size(backfill_items.spec_item(spec)) < ITEM_BYTES
    busiest = Progress(
        total=10**9,
        concurrency=window,
        cursor=10**9 - window,
        slots={lane: -(10**9 - lane) for lane in range(window)},
        rounds=dict.fromkeys(range(window), 10**6),
        updated=AT,
    )
    assert item_size(backfill_progress.item(spec.id, busiest)) < 4 * 1024  # a few write units at most


def test_answer_bytes_is_what_a_body_costs_in_lambdas_answer():
    """The body, serialized as Powertools does, is a JSON string inside the proxy answer Lambda returns."""
    value = {"quote": '"', "backslash": "\\", "accent": "é", "control": "\x01", "emoji": "🙂", "n": [1, 2.5, None]}
    body = json.dumps(value, separators=(",", ":"))
    assert answer_bytes(value) == len(json.dumps({"body": body})) - len(json.dumps({"body": ""}))
