"""The properties Kestra gives every task (retry, timeout, disabled, allowFailure, allowWarning) and the flow's
errors, finally, outputs, variables and labels: validated at registration with a 422 naming the path, and
Kestra's retry waits."""

from datetime import UTC, datetime, timedelta

import pytest

from backfill_core.errors import Invalid
from backfill_core.flows.labels import merge_labels, normalize_labels
from backfill_core.flows.model import parse_flow
from backfill_core.flows.retry import RetrySpec

LOG_TASK = "  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def flow(tasks: str = LOG_TASK, extra: str = "") -> str:
    return f"id: f\nnamespace: tests\ntasks:\n{tasks}{extra}"


def refusal(source: str) -> str:
    with pytest.raises(Invalid) as caught:
        parse_flow(source)
    return caught.value.message


def with_retry(retry: str) -> str:
    return flow(LOG_TASK + f"    retry: {retry}\n")


# --- registration ----------------------------------------------------------------------------------------------


def test_every_implemented_property_is_read_into_the_flow():
    parsed = parse_flow(
        flow(
            LOG_TASK + "    retry: {type: exponential, interval: PT1S, maxInterval: PT1M, delayFactor: 3, "
            "maxAttempts: 4, maxDuration: PT10M, warningOnRetry: true}\n"
            "    timeout: PT5M\n    disabled: true\n    allowFailure: true\n    allowWarning: true\n",
            "errors:\n  - id: alert\n    type: io.kestra.plugin.core.log.Log\n    message: failed\n"
            "finally:\n  - id: done\n    type: io.kestra.plugin.core.debug.Return\n    format: ok\n"
            "outputs:\n  - id: result\n    type: STRING\n    value: '{{ outputs.done.value }}'\n"
            "variables:\n  table: events\n"
            "labels:\n  team: data\n",
        )
    )

    task = parsed.tasks[0]
    assert task.retry is not None
    assert (task.retry.type, task.retry.max_attempts, task.retry.delay_factor) == ("exponential", 4, 3)
    assert task.retry.max_duration == timedelta(minutes=10) and task.retry.warning_on_retry
    assert (task.timeout, task.disabled, task.allow_failure, task.allow_warning) == ("PT5M", True, True, True)
    assert task.properties() == {"message": "hi"}
    assert [t.id for t in parsed.errors] == ["alert"] and [t.id for t in parsed.finally_] == ["done"]
    assert parsed.outputs[0].id == "result" and parsed.flow_variables == {"table": "events"}


@pytest.mark.parametrize(
    ("retry", "expected"),
    [
        ("{type: constant, interval: PT1S, maxAttempts: 0}", "tasks[say].retry.maxAttempts: must be at least 1"),
        ("{type: constant, interval: PT1S, maxAttempts: 101}", "tasks[say].retry.maxAttempts: must be at most 100"),
        (
            "{type: constant, interval: PT1S, behavior: CREATE_NEW_EXECUTION}",
            "tasks[say].retry.behavior: CREATE_NEW_EXECUTION is not supported",
        ),
        ("{type: linear, interval: PT1S}", "tasks[say].retry.type: "),
        ("{type: constant}", "tasks[say].retry: a constant retry needs interval"),
        ("{type: exponential, interval: PT1S}", "tasks[say].retry: an exponential retry needs maxInterval"),
        ("{type: constant, interval: PT1S, minInterval: PT1S}", "tasks[say].retry: minInterval: not a property"),
        ("{type: constant, interval: soon}", "tasks[say].retry.interval: 'soon' is not an ISO-8601 duration"),
        ("{type: constant, interval: PT1M, maxDuration: PT30S}", "interval must be shorter than maxDuration"),
        ("{type: exponential, interval: PT1M, maxInterval: PT30S}", "interval must be shorter than maxInterval"),
        ("{type: random, minInterval: PT5S, maxInterval: PT1S}", "minInterval must be shorter than maxInterval"),
        ("{type: constant, interval: PT1S, maxAttemps: 3}", "tasks[say].retry.maxAttemps: not a known property"),
    ],
)
def test_a_bad_retry_is_refused_naming_its_path(retry, expected):
    assert expected in refusal(with_retry(retry))


def test_kestras_older_max_attempt_spelling_means_the_same():
    parsed = parse_flow(with_retry("{type: constant, interval: PT1S, maxAttempt: 2}"))

    assert parsed.tasks[0].retry is not None and parsed.tasks[0].retry.max_attempts == 2


def test_errors_and_finally_tasks_are_validated_like_tasks_and_ids_are_unique_across_them():
    bad_error = "errors:\n  - id: alert\n    type: io.kestra.plugin.core.log.Log\n"
    assert refusal(flow(extra=bad_error)).startswith("errors[alert].message")
    twice = "finally:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: again\n"
    assert refusal(flow(extra=twice)) == "finally[say].id: task id 'say' is used twice"
    unknown = "finally:\n  - id: x\n    type: io.kestra.plugin.core.flow.Pause\n"
    assert refusal(flow(extra=unknown)).startswith("finally[x].type: task type")


def test_flow_outputs_need_a_supported_type_and_a_value():
    assert "outputs.0.type: 'FILE' is not supported" in refusal(
        flow(extra="outputs:\n  - id: o\n    type: FILE\n    value: x\n")
    )
    assert "outputs.0.value" in refusal(flow(extra="outputs:\n  - id: o\n    type: STRING\n"))


def test_core_task_properties_are_checked():
    ret = "  - id: r\n    type: io.kestra.plugin.core.debug.Return\n    format: [1]\n"
    assert refusal(flow(ret)).startswith("tasks[r].format")
    values = "  - id: v\n    type: io.kestra.plugin.core.output.OutputValues\n    values: [1]\n"
    assert refusal(flow(values)).startswith("tasks[v].values")


def test_a_timeout_is_a_duration_or_an_expression():
    assert refusal(flow(LOG_TASK + "    timeout: soon\n")).startswith("tasks[say].timeout: 'soon' is not")
    assert parse_flow(flow(LOG_TASK + '    timeout: "{{ vars.limit }}"\n')).tasks[0].timeout == "{{ vars.limit }}"


# --- Kestra's waits ------------------------------------------------------------------------------------------


def retry(**props) -> RetrySpec:
    return RetrySpec.model_validate(props)


def test_constant_waits_its_interval_until_max_attempts_counting_the_first():
    policy = retry(type="constant", interval="PT30S", maxAttempts=3)

    assert policy.next_wait(1, T0, T0) == timedelta(seconds=30)
    assert policy.next_wait(2, T0, T0) == timedelta(seconds=30)
    assert policy.next_wait(3, T0, T0) is None


def test_exponential_follows_kestras_rule_and_stops_at_max_interval():
    policy = retry(type="exponential", interval="PT10S", maxInterval="PT45S")

    assert [policy.next_wait(n, T0, T0) for n in (1, 2, 3, 4)] == [
        timedelta(0),
        timedelta(seconds=20),
        timedelta(seconds=40),
        timedelta(seconds=45),
    ]
    tripled = retry(type="exponential", interval="PT10S", maxInterval="PT5M", delayFactor=3.7)
    assert tripled.next_wait(3, T0, T0) == timedelta(seconds=60)


def test_random_waits_between_its_bounds():
    policy = retry(type="random", minInterval="PT1S", maxInterval="PT2S")

    waits = {policy.next_wait(1, T0, T0) for _ in range(50)}
    assert all(timedelta(seconds=1) <= wait <= timedelta(seconds=2) for wait in waits if wait)
    assert len(waits) > 1


def test_no_retry_is_due_once_it_would_start_past_max_duration_from_the_first_attempt():
    policy = retry(type="constant", interval="PT1M", maxDuration="PT5M")

    assert policy.next_wait(3, T0, T0 + timedelta(minutes=4)) == timedelta(minutes=1)
    assert policy.next_wait(4, T0, T0 + timedelta(minutes=4, seconds=1)) is None


# --- labels ----------------------------------------------------------------------------------------------------


def test_an_executions_own_labels_win_over_the_flows_on_the_same_key():
    merged = merge_labels(normalize_labels({"team": "data", "tier": "gold"}), normalize_labels({"team": "ops"}))

    assert [(label.key, label.value) for label in merged] == [("tier", "gold"), ("team", "ops")]
