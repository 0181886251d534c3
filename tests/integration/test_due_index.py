"""The live schedule's due index and the trigger list: a tick takes only due triggers, at most its bound, the
longest due first; a flow's save, its triggers dropped and flows stored before the index keep both right; the
trigger search in its default order pages from the list, with its total."""

from datetime import timedelta

import pytest

from backfill_core.schedules.kestra_time import format_date, parse_instant
from backfill_core.triggers import live_schedule
from local.lambda_runtime import LambdaContext
from tests.harness import Harness, store_bypassing_validation

MINUTE = timedelta(minutes=1)
LOG = "tasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


@pytest.fixture
def stack(aws):
    return Harness(aws)


def flow(flow_id: str, namespace: str = "live", triggers: tuple[str, ...] = ("cron",)) -> str:
    declared = "".join(
        f"  - id: {trigger_id}\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '* * * * *'\n"
        for trigger_id in triggers
    )
    return f"id: {flow_id}\nnamespace: {namespace}\n{LOG}triggers:\n{declared}"


def register(stack, source: str, method: str = "POST", path: str = "/api/v1/flows"):
    answer = stack.call(method, path, source, "application/x-yaml")
    assert answer.status == 200, answer.raw
    return parse_instant(answer.body["updated"]).replace(second=0, microsecond=0) + MINUTE


def tick(stack, at) -> int:
    event = {"scheduledTime": format_date(at)}
    return stack.scheduler_module.lambda_handler(event, LambdaContext("SchedulerFunction", 60))["dispatchedSlots"]


def ran(stack, namespace: str = "live") -> list[tuple[str, str]]:
    stack.drain()
    return sorted((e["flowId"], e["trigger"]["variables"]["date"]) for e in stack.executions(namespace=namespace))


def search(stack, query: str = "") -> tuple[list[str], int]:
    answer = stack.call("GET", f"/api/v1/triggers/search?{query}")
    assert answer.status == 200, answer.raw
    contexts = [r["triggerContext"] for r in answer.body["results"]]
    return [f"{c['namespace']}.{c['flowId']}.{c['triggerId']}" for c in contexts], answer.body["total"]


def test_a_tick_past_its_bound_leaves_the_other_due_triggers_to_the_next_tick(stack, monkeypatch):
    monkeypatch.setattr(live_schedule, "MAX_TRIGGERS_PER_TICK", 2)
    for flow_id in ("a", "b"):
        register(stack, flow(flow_id))
    base = register(stack, flow("c"))
    assert tick(stack, base) == 2
    assert tick(stack, base) == 1  # the third, still due; the first two are not due again before base + 1 minute
    assert tick(stack, base) == 0
    assert ran(stack) == [(flow_id, format_date(base)) for flow_id in ("a", "b", "c")]


def test_a_trigger_dropped_from_its_flow_is_neither_ticked_nor_listed(stack):
    register(stack, flow("pair", triggers=("first", "second")))
    assert search(stack, "namespace=live") == (["live.pair.first", "live.pair.second"], 2)
    base = register(stack, flow("pair", triggers=("first",)), "PUT", "/api/v1/flows/live/pair")
    assert search(stack, "namespace=live") == (["live.pair.first"], 1)
    assert tick(stack, base) == 1
    assert ran(stack) == [("pair", format_date(base))]


def test_a_deleted_flow_is_neither_ticked_nor_listed(stack):
    register(stack, flow("kept"))
    base = register(stack, flow("gone"))
    assert stack.call("DELETE", "/api/v1/flows/live/gone").status == 204
    assert search(stack) == (["live.kept.cron"], 1)
    assert tick(stack, base) == 1
    assert ran(stack) == [("kept", format_date(base))]


def test_the_trigger_search_pages_in_identity_order_with_its_total(stack):
    for namespace, flow_id in [("b", "z"), ("a", "y"), ("ab", "x"), ("a.c", "w"), ("a", "v")]:
        register(stack, flow(flow_id, namespace))
    everything = ["a.v.cron", "a.y.cron", "a.c.w.cron", "ab.x.cron", "b.z.cron"]
    assert search(stack, "size=2") == (everything[:2], 5)
    assert search(stack, "size=2&page=3") == (everything[4:], 5)
    assert search(stack, "size=2&page=2&sort=namespace:asc,flowId:asc") == (everything[2:4], 5)
    # A namespace holds the flows below it, not those whose name merely starts the same.
    assert search(stack, "namespace=a&size=2") == (everything[:2], 3)
    assert search(stack, "namespace=a&size=2&page=2") == (everything[2:3], 3)
    # Other orders are sorted from every flow, as before.
    assert search(stack, "sort=flowId:desc") == (["b.z.cron", "a.y.cron", "ab.x.cron", "a.c.w.cron", "a.v.cron"], 5)


def test_flows_stored_before_the_due_index_are_listed_and_ticked(stack):
    store_bypassing_validation(
        stack,
        "earlier",
        LOG + "triggers:\n  - id: cron\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '* * * * *'\n",
    )
    base = register(stack, flow("later", "tests"))
    assert search(stack, "namespace=tests") == (["tests.later.cron"], 1)
    assert tick(stack, base) == 2  # the first tick lists the earlier flow and takes it up as new
    assert ran(stack, "tests") == [("earlier", format_date(base)), ("later", format_date(base))]
    assert search(stack, "namespace=tests") == (["tests.earlier.cron", "tests.later.cron"], 2)
