"""What an execution's writes cost the ByFlowStart index the executions search reads: its keys only, written once
when the execution is created, whatever the execution's later writes change (DynamoDB charges an index write
for each write that changes the index's keys or projected attributes)."""

from datetime import UTC, datetime, timedelta

from backfill_core.flows.execution import Execution, ExecutionTrigger, State, StateHistory
from backfill_core.flows.task_run import transition
from backfill_core.storage import executions_repository
from bench.fake_aws import units
from local.aws_template import load_template

STARTED = datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)  # finer than the body's milliseconds


def test_by_flow_start_is_written_once_in_an_executions_life():
    """Was: the first write keyed the start to the microsecond, the body kept milliseconds, so every execution
    read back and written again moved its key (a delete and a put: 3 index writes, and as many for BySlot)."""
    shape = units.shapes_from_template(load_template())["ExecutionsTable"]
    execution = Execution(
        id="run1",
        tenant_id="main",
        namespace="shop",
        flow_id="load",
        flow_revision=1,
        trigger=ExecutionTrigger(id="hourly", type="io.kestra.plugin.core.trigger.Schedule", variables={}),
        state=State(current="RUNNING", histories=[StateHistory(state="RUNNING", date=STARTED)], start_date=STARTED),
        scheduled_date=STARTED.replace(microsecond=0),  # a slot
    )
    life = [executions_repository._item(execution)]
    execution = executions_repository._execution(life[-1])  # each attempt reads it back before it writes
    execution.attempt, execution.lease_until = 1, 1e9
    life.append(executions_repository._item(execution))
    execution = executions_repository._execution(life[-1])
    execution.state = transition(execution.state, "SUCCESS", STARTED + timedelta(seconds=3))
    life.append(executions_repository._item(execution))
    written = units.Units()
    for before, after in zip([None, *life], life, strict=False):
        written.add(units.item_write(shape, before, after, True, 1))
    assert written.by_index.get("ByFlowStart") == 1
    assert written.by_index.get("BySlot") == 2  # its entry, then the state it projects
