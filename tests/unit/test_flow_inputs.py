"""Flow inputs, Kestra's way: declared types, precedence defaults < trigger < backfill, clear refusals."""

import pytest

from backfill_core.errors import Invalid
from backfill_core.flows.inputs import resolve
from backfill_core.flows.model import parse_flow

FLOW = """
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
  - id: ratio
    type: FLOAT
    required: false
  - id: dry
    type: BOOLEAN
    defaults: false
  - id: since
    type: DATETIME
    required: false
  - id: day
    type: DATE
    required: false
  - id: options
    type: JSON
    required: false
  - id: owner
    type: STRING
  - id: label
    type: STRING
    defaults: "{{ flow.namespace }}-{{ flow.id }}"
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
    inputs:
      owner: scheduler
      size: 20
"""


@pytest.fixture
def flow():
    return parse_flow(FLOW)


def resolved(flow, backfill=None, trigger=True):
    trigger_inputs = flow.trigger("hourly").inputs if trigger else None
    return resolve(flow.inputs, trigger_inputs, backfill, flow.variables(1))


def test_defaults_then_trigger_then_backfill(flow):
    assert resolved(flow) == {
        "region": "eu",
        "size": 20,
        "dry": False,
        "owner": "scheduler",
        "label": "tests-typed",
    }
    assert resolved(flow, {"size": "30", "owner": "ada"})["size"] == 30
    assert resolved(flow, {"size": "30", "owner": "ada"})["owner"] == "ada"


def test_values_are_typed(flow):
    got = resolved(
        flow,
        {
            "ratio": "0.5",
            "dry": "TRUE",
            "since": "2024-03-28T08:30:00+02:00",
            "day": "2024-03-28",
            "options": '{"a": [1, 2]}',
            "region": "us",
        },
    )
    assert got["ratio"] == 0.5
    assert got["dry"] is True
    assert got["since"] == "2024-03-28T08:30:00+02:00"
    assert got["day"] == "2024-03-28"
    assert got["options"] == {"a": [1, 2]}
    assert got["region"] == "us"


@pytest.mark.parametrize(
    ("given", "needle"),
    [
        ({"size": "ten"}, "backfill.inputs.size: 'ten' is not an integer"),
        ({"size": True}, "backfill.inputs.size"),
        ({"ratio": "half"}, "backfill.inputs.ratio: 'half' is not a number"),
        ({"dry": "maybe"}, "backfill.inputs.dry: 'maybe' is not true or false"),
        ({"since": "yesterday"}, "backfill.inputs.since"),
        ({"day": "28/03/2024"}, "backfill.inputs.day"),
        ({"region": "mars"}, "backfill.inputs.region: 'mars' is not one of eu, us"),
        ({"options": "{oops"}, "backfill.inputs.options"),
        ({"owner": {"a": 1}}, "backfill.inputs.owner"),
        ({"nope": 1}, "backfill.inputs.nope: the flow has no input 'nope'"),
        ({"size": "1.0"}, "backfill.inputs.size"),
        ({"size": "1_000"}, "backfill.inputs.size"),
        ({"ratio": "nan"}, "backfill.inputs.ratio"),
        ({"ratio": "inf"}, "backfill.inputs.ratio"),
        ({"since": "2024-03-28T06:30:00"}, "backfill.inputs.since: '2024-03-28T06:30:00' is not an ISO-8601"),
        ({"since": "2024-03-28"}, "backfill.inputs.since"),
        ({"day": "20240328"}, "backfill.inputs.day"),
        ({"day": "2024-W13-4"}, "backfill.inputs.day"),
    ],
)
def test_bad_values_name_the_input(flow, given, needle):
    with pytest.raises(Invalid) as caught:
        resolved(flow, given)
    assert needle in caught.value.message


def test_a_required_json_input_given_null_is_refused():
    source = FLOW.replace("  - id: options\n    type: JSON\n    required: false\n", "  - id: options\n    type: JSON\n")
    flow = parse_flow(source)
    with pytest.raises(Invalid) as caught:
        resolved(flow, {"options": "null"})
    assert caught.value.message.startswith("backfill.inputs.options: required input 'options' is null")


def test_a_required_input_without_value_is_refused(flow):
    with pytest.raises(Invalid) as caught:
        resolved(flow, trigger=False)
    assert caught.value.message.startswith("backfill.inputs.owner: required input")


def test_declarations_are_checked_at_registration():
    head = "id: f\nnamespace: tests\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
    cases = [
        ("inputs:\n  - id: x\n    type: COLOR\n", "inputs[x].type"),
        ("inputs:\n  - id: x\n    type: SELECT\n", "inputs[x].values"),
        ("inputs:\n  - id: x\n    type: INT\n    defaults: many\n", "inputs[x].defaults"),
        ("inputs:\n  - id: x\n  - id: x\n", "used twice"),
        (
            "triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n"
            "    inputs:\n      ghost: 1\n",
            "triggers[s].inputs.ghost",
        ),
    ]
    for extra, needle in cases:
        with pytest.raises(Invalid) as caught:
            parse_flow(head + extra)
        assert needle in caught.value.message, extra


def test_a_backfill_input_holding_a_template_is_data_not_rendered(flow):
    """Was: caller values holding {{ }} were rendered at creation ({{ 'x' * 5000000 }} made 5 MB)."""
    got = resolved(flow, {"owner": "{{ 'x' * 5000000 }}", "label": "{{ flow.id }}"})
    assert got["owner"] == "{{ 'x' * 5000000 }}"
    assert got["label"] == "{{ flow.id }}"


def test_what_the_author_wrote_is_still_rendered(flow):
    assert resolved(flow)["label"] == "tests-typed"
    authored = parse_flow(FLOW.replace("owner: scheduler", 'owner: "{{ flow.namespace }}"'))
    assert resolved(authored)["owner"] == "tests"


@pytest.mark.parametrize(
    ("given", "needle"),
    [
        ({"size": 2**31}, "outside the INT range"),
        ({"size": -(2**31) - 1}, "outside the INT range"),
        ({"size": "9" * 5000}, "outside the INT range"),  # past Python's int-string limit: counted, not converted
        ({"size": 10**4000}, "outside the INT range"),
        ({"ratio": 10**400}, "is not a number"),
        ({"options": "[" + "1" * 5000 + "]"}, "backfill.inputs.options"),
        ({"owner": "x" * 40_000}, "40,002 bytes, more than the 32,768 an input may take"),
        ({"options": {"a": "é" * 20_000}}, "backfill.inputs.options"),
    ],
)
def test_numbers_and_sizes_past_the_limits_name_the_input(flow, given, needle):
    with pytest.raises(Invalid) as caught:
        resolved(flow, given)
    assert needle in caught.value.message
    assert len(caught.value.message) < 300


def test_an_int_at_kestras_bounds_is_taken(flow):
    assert resolved(flow, {"size": 2**31 - 1})["size"] == 2**31 - 1
    assert resolved(flow, {"size": "-0002147483648"})["size"] == -(2**31)


def test_a_default_rendering_past_the_limit_names_the_input():
    padded = "defaults: \"{{ 'x' * 100000 }}\""
    flow = parse_flow(FLOW.replace('defaults: "{{ flow.namespace }}-{{ flow.id }}"', padded))
    with pytest.raises(Invalid) as caught:
        resolved(flow)
    assert caught.value.message.startswith("backfill.inputs.label: the value renders to 100,002 bytes")


def test_inputs_together_are_bounded():
    declared = "".join(f"  - id: s{n}\n    type: STRING\n" for n in range(3))
    flow = parse_flow(
        f"id: wide\nnamespace: tests\ninputs:\n{declared}tasks:\n"
        "  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    values = {f"s{n}": "x" * 30_000 for n in range(3)}
    with pytest.raises(Invalid) as caught:
        resolve(flow.inputs, None, values, flow.variables(1))
    assert caught.value.message.startswith("backfill.inputs.s2: the inputs up to this one take")


# --- min and max (Kestra's IntInput and FloatInput) -------------------------------------------------------------


def bounded(kind: str = "INT", extra: str = "    min: 1\n    max: 10\n") -> str:
    return (
        f"id: f\nnamespace: n\ninputs:\n  - id: n\n    type: {kind}\n{extra}"
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )


@pytest.mark.parametrize(("value", "problem"), [(0, "it must be more than `1`"), (11, "it must be less than `10`")])
def test_a_value_outside_min_and_max_is_refused_with_kestras_message(value, problem):
    flow = parse_flow(bounded())
    with pytest.raises(Invalid, match=f"backfill.inputs.n: {problem}"):
        resolve(flow.inputs, None, {"n": value}, {})
    assert resolve(flow.inputs, None, {"n": 10}, {}) == {"n": 10}  # inclusive


def test_a_float_input_takes_fractional_bounds():
    flow = parse_flow(bounded("FLOAT", "    min: 0.5\n    max: 1.5\n"))
    assert resolve(flow.inputs, None, {"n": "1.5"}, {}) == {"n": 1.5}
    with pytest.raises(Invalid, match="it must be more than `0.5`"):
        resolve(flow.inputs, None, {"n": 0.25}, {})


@pytest.mark.parametrize(
    ("extra", "problem"),
    [("    min: 1\n    defaults: 0\n", "inputs\\[n\\].defaults: it must be more than `1`"),
     ("    min: 5\n    max: 1\n", "inputs\\[n\\].max: 1 is less than min 5")],
)  # fmt: skip
def test_bounds_are_checked_at_registration(extra, problem):
    with pytest.raises(Invalid, match=problem):
        parse_flow(bounded(extra=extra))


def test_only_number_inputs_have_bounds():
    with pytest.raises(Invalid, match="inputs\\[n\\].min: only an INT or FLOAT input has a min"):
        parse_flow(bounded("STRING", "    min: 1\n"))
