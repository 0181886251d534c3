"""An execution's stored record leaves out what its item's attributes say and the fields at their defaults (a write
costs a unit per KB, on the ByFlow index too): it must read back as it was, whatever it holds."""

import json
from datetime import UTC, datetime

import pytest

from backfill_core.flows.execution import Execution, ExecutionTrigger, State, StateHistory
from backfill_core.flows.model import parse_flow
from backfill_core.flows.runner import run_flow
from backfill_core.storage import executions_repository
from backfill_core.storage.execution_items import BODY, unpacked

AT = datetime(2024, 3, 28, 6, 30, tzinfo=UTC)
FLOW = """
id: f
namespace: tests
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: hi
  - id: values
    type: io.kestra.plugin.core.debug.Return
    format: "{{ 1 + 1 }}"
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.log.Log
        message: "{{ taskrun.value }}"
outputs:
  - id: two
    type: STRING
    value: "{{ outputs['values'].value }}"
"""


def ran(**fields) -> Execution:
    trigger = ExecutionTrigger(id="every_hour", type="Schedule", variables={"date": "2024-03-28T06:30:00Z"})
    execution = Execution(
        id="exec1",
        tenant_id="main",
        namespace="tests",
        flow_id="f",
        flow_revision=3,
        state=State(current="RUNNING", histories=[StateHistory(state="RUNNING", date=AT)], start_date=AT),
        scheduled_date=AT,
        **{"trigger": trigger, **fields},
    )
    return run_flow(parse_flow(FLOW), 3, execution, lambda *args: None, lambda e: None, lambda: 30.0)


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "backfill", "backfill_id": "b1", "attempt": 1},
        {"kind": "manual", "trigger": None, "attempt": 4, "restarted_at_attempt": 2, "message_due": AT},
        {"kind": "subflow", "inputs": {"x": 1}, "original_id": "other", "deleted": True, "lease_until": 5.5},
    ],
)
def test_a_record_reads_back_as_it_was_written(fields):
    execution = ran(**fields)
    execution.kill_requested, execution.log_lines = True, [("k#001#000001", {"message": "hi"})]
    item = executions_repository._item(execution)
    again = executions_repository._execution(item)
    assert again.to_json() == execution.to_json()  # as Kestra JSON: dates to the millisecond
    assert (again.lease_until, again.kill_requested, again.log_lines) == (
        execution.lease_until,
        True,
        [("k#001#000001", {"message": "hi"})],
    )
    body = unpacked(item, BODY)
    assert not {"id", "attempt", "backfillId"} & set(body)  # the item's key and attributes say them
    assert len(item[BODY]["B"]) < len(json.dumps(body)) / 2  # kept compressed


def test_a_record_an_earlier_release_wrote_whole_reads_alike():
    execution = ran(kind="backfill", backfill_id="b1", attempt=1)
    execution.log_lines = [("k#001#000001", {"message": "hi"})]
    item = {name: value for name, value in executions_repository._item(execution).items() if "Z" not in name}
    item |= {
        "body": {"S": execution.model_dump_json(by_alias=True)},
        "logLines": {"S": '[["k#001#000001",{"message":"hi"}]]'},
    }
    again = executions_repository._execution(item)
    assert again.to_json() == execution.to_json() and again.log_lines == execution.log_lines
