"""The live schedule, ticked on demand with a controllable clock: every slot once, missed slots recovered
per recoverMissedSchedules, disabled triggers idle, stopAfter and lateMaximumDelay, beside backfills."""

from datetime import UTC, datetime, timedelta

import pytest

from backfill_core.schedules.kestra_time import format_date, parse_instant
from backfill_core.triggers import live_schedule
from local.lambda_runtime import LambdaContext
from tests.harness import Harness, run_kind

MINUTE = timedelta(minutes=1)


@pytest.fixture
def stack(aws):
    """The handlers against moto, with no example flows (their crons would tick too)."""
    return Harness(aws)


def every_minute(flow_id="minutely", extra="", task="    message: 'tick {{ trigger.date }}'\n"):
    return (
        f"id: {flow_id}\nnamespace: live\n"
        "tasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n" + task + "triggers:\n"
        "  - id: cron\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '* * * * *'\n" + extra
    )


def register(stack, source) -> datetime:
    """Register a flow; returns the first minute boundary after its registration."""
    answer = stack.call("POST", "/api/v1/flows", source, "application/x-yaml")
    assert answer.status == 200, answer.raw
    created = parse_instant(answer.body["updated"])
    return created.replace(second=0, microsecond=0) + MINUTE


def tick(stack, at: datetime) -> dict:
    event = {"scheduledTime": format_date(at)}
    return stack.scheduler_module.lambda_handler(event, LambdaContext("SchedulerFunction", 60))


def live_dates(stack, flow_id="minutely"):
    stack.drain()
    found = stack.executions(namespace="live", flowId=flow_id)
    assert all(run_kind(e) == "schedule" and e["trigger"]["variables"]["backfill"] is False for e in found)
    return sorted(parse_instant(e["trigger"]["variables"]["date"]) for e in found)


def trigger(stack, flow_id="minutely"):
    return stack.call("GET", f"/api/v1/triggers/search?namespace=live&flowId={flow_id}").body["results"][0][
        "triggerContext"
    ]


def ref(flow_id="minutely"):
    return {"namespace": "live", "flowId": flow_id, "triggerId": "cron"}


def test_each_tick_runs_its_minute_once(stack):
    base = register(stack, every_minute())
    for minute in range(3):
        assert tick(stack, base + minute * MINUTE)["dispatchedSlots"] == 1
    tick(stack, base + 2 * MINUTE)  # the same tick again (a retried invocation) dispatches nothing new
    assert live_dates(stack) == [base, base + MINUTE, base + 2 * MINUTE]
    context = trigger(stack)
    assert context["date"] == format_date(base + 2 * MINUTE)
    assert context["nextExecutionDate"] == format_date(base + 3 * MINUTE)
    (first,) = [e for e in stack.executions(namespace="live") if e["trigger"]["variables"]["date"] == format_date(base)]
    assert first["trigger"]["variables"]["next"] == format_date(base + MINUTE)
    assert first["trigger"]["variables"]["previous"] == format_date(base - MINUTE)
    logs = stack.call("GET", f"/api/v1/logs/{first['id']}").body
    assert [line["message"] for line in logs] == [f"tick {format_date(base)}"]


@pytest.mark.parametrize(
    ("policy", "recovered"),
    [("ALL", [1, 2, 3]), ("LAST", [3]), ("NONE", [])],
)
def test_an_outage_of_three_ticks_is_recovered_per_policy(stack, policy, recovered):
    base = register(stack, every_minute(extra=f"    recoverMissedSchedules: {policy}\n"))
    tick(stack, base)
    # The ticks at base+1, +2 and +3 never happen (the stack was down); then it comes back.
    tick(stack, base + 4 * MINUTE)
    expected = [base] + [base + n * MINUTE for n in recovered] + [base + 4 * MINUTE]
    assert live_dates(stack) == expected
    assert trigger(stack)["date"] == format_date(base + 4 * MINUTE)


def test_a_long_outage_is_caught_up_over_several_ticks_oldest_first(stack, monkeypatch):
    monkeypatch.setattr(live_schedule, "MAX_SLOTS_PER_TICK", 5)
    base = register(stack, every_minute())
    tick(stack, base)
    back = base + 12 * MINUTE
    assert tick(stack, back)["dispatchedSlots"] == 5
    assert trigger(stack)["date"] == format_date(base + 5 * MINUTE)
    assert tick(stack, back)["dispatchedSlots"] == 5
    assert tick(stack, back)["dispatchedSlots"] == 2
    assert tick(stack, back)["dispatchedSlots"] == 0
    assert live_dates(stack) == [base + n * MINUTE for n in range(13)]


def test_disable_and_enable(stack):
    base = register(stack, every_minute())
    tick(stack, base)
    answer = stack.call("PUT", "/api/v1/triggers", {**ref(), "disabled": True})
    assert answer.status == 200, answer.raw
    assert answer.body["disabled"] is True
    assert tick(stack, base + MINUTE)["dispatchedSlots"] == 0
    refused = stack.call(
        "PUT",
        "/api/v1/triggers",
        {**ref(), "backfill": {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:05:00Z"}},
    )
    assert refused.status == 409 and "disabled" in refused.message

    answer = stack.call("PUT", "/api/v1/triggers", {**ref(), "disabled": False})
    assert answer.status == 200 and answer.body["disabled"] is False
    tick(stack, base + 3 * MINUTE)  # recovers the minutes it was disabled (ALL, the default)
    assert live_dates(stack) == [base + n * MINUTE for n in range(4)]


def test_disabling_holds_a_running_backfill_and_enabling_resumes_it(stack):
    register(stack, every_minute())
    body = {**ref(), "backfill": {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:04:00Z"}}
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.poller().poll_once()  # 00:00 runs, 00:01 is dispatched
    held = stack.call("PUT", "/api/v1/triggers", {**ref(), "disabled": True}).body
    assert held["disabled"] is True and held["backfill"]["paused"] is False
    stack.drain()  # 00:01 arrives while the trigger is disabled: parked
    backfilled = stack.executions(namespace="live", flowId="minutely")
    assert [e["trigger"]["variables"]["date"] for e in backfilled] == ["2024-01-01T00:00:00Z"]
    stack.call("PUT", "/api/v1/triggers", {**ref(), "disabled": False})
    stack.drain()
    assert len(stack.executions(namespace="live", flowId="minutely")) == 5


def test_stop_after_disables_the_trigger_when_an_execution_ends_in_a_listed_state(stack):
    failing = every_minute(
        flow_id="fragile",
        extra="    stopAfter: [FAILED]\n",
        task="    message: '{{ inputs.missing }}'\n",
    )
    base = register(stack, failing)
    tick(stack, base)
    stack.drain()
    (execution,) = stack.executions(namespace="live", flowId="fragile")
    assert execution["state"]["current"] == "FAILED"
    assert trigger(stack, "fragile")["disabled"] is True
    assert tick(stack, base + MINUTE)["dispatchedSlots"] == 0


def test_late_maximum_delay_skips_late_live_slots_but_never_backfill_slots(stack):
    base = register(stack, every_minute(extra="    lateMaximumDelay: PT90S\n"))
    tick(stack, base)
    tick(stack, base + 5 * MINUTE)  # +1..+3 are more than 90 s late: skipped; +4 and +5 run
    assert live_dates(stack) == [base, base + 4 * MINUTE, base + 5 * MINUTE]
    body = {**ref(), "backfill": {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:03:00Z"}}
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    backfilled = [e for e in stack.executions(namespace="live") if run_kind(e) == "backfill"]
    assert len(backfilled) == 4


def test_live_and_backfill_runs_of_the_same_slot_are_distinct_and_say_which(stack):
    base = register(stack, every_minute())
    start = format_date(base - 2 * MINUTE)
    body = {**ref(), "backfill": {"start": start, "end": start}}
    # A backfill of a minute before the flow existed, and the live run of the current minute...
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    tick(stack, base)
    stack.drain()
    kinds = sorted((run_kind(e), e["trigger"]["variables"]["date"]) for e in stack.executions(namespace="live"))
    assert kinds == [("backfill", start), ("schedule", format_date(base))]
    # ...and the live schedule keeps running while a backfill runs.
    assert (
        stack.call(
            "PUT",
            "/api/v1/triggers",
            {**ref(), "backfill": {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T05:00:00Z"}},
        ).status
        == 200
    )
    assert tick(stack, base + MINUTE)["dispatchedSlots"] == 1


def test_seconds_slots_are_dispatched_with_their_own_dates(stack):
    source = every_minute(flow_id="seconds").replace(
        "cron: '* * * * *'", "cron: '*/20 * * * * *'\n    withSeconds: true"
    )
    base = register(stack, source)
    tick(stack, base)
    tick(stack, base + MINUTE)
    dates = live_dates(stack, "seconds")
    assert dates[-3:] == [base + timedelta(seconds=20), base + timedelta(seconds=40), base + MINUTE]
    assert all(d.second in (0, 20, 40) for d in dates)


def test_a_trigger_in_another_timezone_runs_at_its_local_times(stack):
    source = (
        "id: paris\nnamespace: live\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "triggers:\n  - id: cron\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '0 * * * *'\n"
        "    timezone: Europe/Paris\n"
    )
    base = register(stack, source)
    hour = base.replace(minute=0) + timedelta(hours=1)
    tick(stack, hour)
    stack.drain()
    dates = [e["trigger"]["variables"]["date"] for e in stack.executions(namespace="live", flowId="paris")]
    assert max(parse_instant(d) for d in dates) == hour
    assert all(d.endswith(("+01:00", "+02:00")) and d[14:19] == "00:00" for d in dates)
    assert datetime.now(UTC) < hour + timedelta(hours=2)


def test_a_cron_change_starts_afresh_instead_of_recovering_slots_the_old_cron_never_had(stack):
    base = register(stack, every_minute(flow_id="changing").replace("cron: '* * * * *'", "cron: '0 * * * *'"))
    hour = base.replace(minute=0) + timedelta(hours=1)
    assert tick(stack, hour)["dispatchedSlots"] == 1
    source = every_minute(flow_id="changing")
    assert stack.call("PUT", "/api/v1/flows/live/changing", source, "application/x-yaml").status == 200
    # Half an hour later, the every-minute cron has not "missed" thirty slots: it starts now.
    assert tick(stack, hour + 30 * MINUTE)["dispatchedSlots"] == 1


def test_a_new_triggers_first_slot_is_recovered_if_its_tick_is_missed(stack):
    base = register(stack, every_minute())
    assert tick(stack, base - MINUTE)["dispatchedSlots"] == 0  # before the flow existed: nothing due
    # The tick at `base` never happens; the next one recovers it (ALL).
    assert tick(stack, base + MINUTE)["dispatchedSlots"] == 2
    assert live_dates(stack) == [base, base + MINUTE]


def test_disabling_the_trigger_in_the_flow_yaml_holds_its_running_backfill(stack):
    source = every_minute()
    register(stack, source)
    body = {**ref(), "backfill": {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:04:00Z"}}
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.poller().poll_once()
    disabled = source + "    disabled: true\n"
    assert stack.call("PUT", "/api/v1/flows/live/minutely", disabled, "application/x-yaml").status == 200
    stack.drain()
    assert len(stack.executions(namespace="live")) == 1
    assert trigger(stack)["disabled"] is True
    assert stack.call("PUT", "/api/v1/flows/live/minutely", source, "application/x-yaml").status == 200
    stack.drain()
    assert len(stack.executions(namespace="live")) == 5


def test_stop_after_is_applied_once_a_duplicate_message_does_not_disable_again(stack):
    failing = every_minute(flow_id="fragile", extra="    stopAfter: [FAILED]\n", task="    message: '{{ inputs.x }}'\n")
    base = register(stack, failing)
    tick(stack, base)
    message = stack.sqs.receive_message(QueueUrl=stack.queue_url)["Messages"][0]
    stack.sqs.change_message_visibility(
        QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    stack.drain()
    assert trigger(stack, "fragile")["disabled"] is True
    enabled = stack.call("PUT", "/api/v1/triggers", {**ref("fragile"), "disabled": False})
    assert enabled.body["disabled"] is False
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=message["Body"])  # SQS delivers it again
    stack.drain()
    assert trigger(stack, "fragile")["disabled"] is False
    assert len(stack.executions(namespace="live", flowId="fragile")) == 1
