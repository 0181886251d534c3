"""Inputs through the API: precedence reaches the executions, and bad values are refused before anything runs."""

import pytest

from tests.flows import backfill_body

TYPED = """
id: typed
namespace: tests
inputs:
  - id: region
    type: SELECT
    values: [eu, us]
    defaults: eu
  - id: size
    type: INT
    defaults: 10
  - id: owner
    type: STRING
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.owner }} in {{ inputs.region }} x{{ inputs.size }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
    inputs:
      owner: scheduler
      size: 20
"""
ONE_SLOT = ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")


@pytest.fixture
def typed(stack):
    assert stack.call("POST", "/api/v1/flows", TYPED, "application/x-yaml").status == 200
    return stack


def test_backfill_inputs_win_over_trigger_inputs_over_defaults(typed):
    answer = typed.call("PUT", "/api/v1/triggers", backfill_body("typed", *ONE_SLOT, inputs={"size": "30"}))
    assert answer.status == 200, answer.raw
    assert answer.body["backfill"]["inputs"] == {"region": "eu", "size": 30, "owner": "scheduler"}
    typed.drain()
    (execution,) = typed.executions(namespace="tests")
    assert execution["inputs"] == {"region": "eu", "size": 30, "owner": "scheduler"}
    logs = typed.call("GET", f"/api/v1/logs/{execution['id']}").body
    assert [line["message"] for line in logs] == ["scheduler in eu x30"]


@pytest.mark.parametrize(
    ("inputs", "needle"),
    [
        ({"size": "lots"}, "backfill.inputs.size"),
        ({"region": "mars"}, "backfill.inputs.region"),
        ({"colour": "red"}, "backfill.inputs.colour"),
        ({"owner": None, "size": 1}, None),  # null means "not given": the trigger's owner applies
    ],
)
def test_bad_inputs_are_422_naming_the_input_and_change_nothing(typed, inputs, needle):
    answer = typed.call("PUT", "/api/v1/triggers", backfill_body("typed", *ONE_SLOT, inputs=inputs))
    if needle is None:
        assert answer.status == 200, answer.raw
        return
    assert answer.status == 422, answer.raw
    assert answer.message.startswith(needle)
    assert typed.queue_depth() == 0
    assert typed.item_count("TriggersTable") == 0


def test_a_required_input_missing_everywhere_is_refused(stack):
    flow = TYPED.replace("    inputs:\n      owner: scheduler\n      size: 20\n", "")
    assert stack.call("POST", "/api/v1/flows", flow, "application/x-yaml").status == 200
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body("typed", *ONE_SLOT))
    assert answer.status == 422
    assert answer.message.startswith("backfill.inputs.owner: required input")
