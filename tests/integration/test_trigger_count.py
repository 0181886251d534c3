"""The trigger search's `total` without reading every trigger: a tenant's count, kept in the writes that list and
unlist triggers, equals the triggers its flows declare after flows are created, updated to add, drop or rename
triggers, and deleted, in each tenant apart; a write that finds a trigger's item changed since it read it reads
again; flows stored before the count existed are counted by the scheduler. A namespace's total is exact on its
last page and within TOTAL_LOOKAHEAD of the page, a lower bound past the page beyond it."""

from datetime import UTC, datetime

import pytest

from backfill_core.kestra_api import trigger_pages
from backfill_core.schedules.kestra_time import format_date
from backfill_core.settings import settings
from backfill_core.storage import trigger_listing
from backfill_core.storage.due_triggers import state_key
from backfill_core.triggers.model import TriggerKey
from local.lambda_runtime import LambdaContext
from tests.harness import Harness, store_bypassing_validation

YAML = "application/x-yaml"
LOG = "tasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
HOURLY = LOG + "triggers:\n  - id: cron\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '0 * * * *'\n"


@pytest.fixture
def stack(aws):
    return Harness(aws)


def flow(flow_id: str, namespace: str, triggers: tuple[str, ...]) -> str:
    declared = "".join(
        f"  - id: {trigger_id}\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '0 * * * *'\n"
        for trigger_id in triggers
    )
    return f"id: {flow_id}\nnamespace: {namespace}\n{LOG}" + (f"triggers:\n{declared}" if triggers else "")


def save(stack, flow_id: str, namespace: str, triggers: tuple[str, ...], tenant: str = "") -> None:
    """Create the flow, or store a new revision of it (one call to the API either way)."""
    base = f"/api/v1/{tenant + '/' if tenant else ''}flows"
    exists = stack.call("GET", f"{base}/{namespace}/{flow_id}").status == 200
    method, path = ("PUT", f"{base}/{namespace}/{flow_id}") if exists else ("POST", base)
    answer = stack.call(method, path, flow(flow_id, namespace, triggers), YAML)
    assert answer.status == 200, answer.raw


def total(stack, query: str = "", tenant: str = "") -> int:
    """The search's total on a first page that is full (size=1), so that it is the count, not the page's length."""
    answer = stack.call("GET", f"/api/v1/{tenant + '/' if tenant else ''}triggers/search?size=1&{query}")
    assert answer.status == 200, answer.raw
    assert len(answer.body["results"]) == 1
    return answer.body["total"]


def declared(stack, tenant: str = "") -> int:
    """How many triggers the tenant's flows declare, counted from the flows themselves."""
    answer = stack.call("GET", f"/api/v1/{tenant + '/' if tenant else ''}flows/search?size=1000")
    assert answer.status == 200, answer.raw
    return sum(len(one.get("triggers") or []) for one in answer.body["results"])


def test_the_count_follows_flows_created_updated_and_deleted(stack):
    save(stack, "one", "count", ("a", "b"))
    save(stack, "two", "count.sub", ("a",))
    save(stack, "three", "other", ("a", "b", "c"))
    save(stack, "none", "other", ())
    assert total(stack) == declared(stack) == 6
    save(stack, "one", "count", ("a", "b", "c"))  # one added
    assert total(stack) == declared(stack) == 7
    save(stack, "three", "other", ("a",))  # two dropped
    assert total(stack) == declared(stack) == 5
    save(stack, "two", "count.sub", ("renamed",))  # one dropped, one added
    assert total(stack) == declared(stack) == 5
    save(stack, "one", "count", ("a", "b", "c"))  # the same triggers again
    save(stack, "none", "other", ("first",))  # a flow with none gets one
    assert total(stack) == declared(stack) == 6
    assert stack.call("DELETE", "/api/v1/flows/count/one").status == 204
    assert total(stack) == declared(stack) == 3
    save(stack, "one", "count", ("a",))  # registered again after its delete
    assert total(stack) == declared(stack) == 4
    assert trigger_listing.count("main") == 4


def test_each_tenant_counts_its_own_triggers(stack):
    save(stack, "one", "count", ("a", "b"))
    save(stack, "one", "count", ("a",), tenant="acme")
    save(stack, "two", "count", ("a", "b", "c"), tenant="acme")
    assert (total(stack), total(stack, tenant="acme")) == (2, 4)
    assert stack.call("DELETE", "/api/v1/acme/flows/count/two").status == 204
    assert (total(stack), total(stack, tenant="acme")) == (2, 1)


def test_a_save_that_read_a_trigger_before_it_changed_reads_it_again(stack, monkeypatch):
    save(stack, "one", "count", ("a", "b"))
    save(stack, "two", "count", ("a",))
    read, seen = trigger_listing._counted, []

    def counted(keys):  # the first read misses that they are counted, as if made before they were listed
        seen.append(keys)
        return set() if len(seen) == 1 else read(keys)

    monkeypatch.setattr(trigger_listing, "_counted", counted)
    save(stack, "one", "count", ("b", "c"))  # the write conditioned on the stale read fails, the second lands
    assert len(seen) == 2
    assert total(stack) == declared(stack) == 3


def test_a_delete_that_read_a_trigger_before_it_changed_reads_it_again(stack, monkeypatch):
    save(stack, "one", "count", ("a", "b"))
    save(stack, "two", "count", ("a",))
    read, seen = trigger_listing._counted, []

    def counted(keys):
        seen.append(keys)
        return set() if len(seen) == 1 else read(keys)

    monkeypatch.setattr(trigger_listing, "_counted", counted)
    assert stack.call("DELETE", "/api/v1/flows/count/one").status == 204
    assert len(seen) == 3  # a: read stale then again; b: read once
    assert trigger_listing.count("main") == declared(stack) == 1


def tick(stack) -> None:
    event = {"scheduledTime": format_date(datetime.now(UTC).replace(second=0, microsecond=0))}
    stack.scheduler_module.lambda_handler(event, LambdaContext("SchedulerFunction", 60))


def test_flows_stored_before_the_count_existed_are_counted_once_by_the_scheduler(stack):
    save(stack, "counted", "tests", ("a",))
    store_bypassing_validation(stack, "earlier", HOURLY)
    # A trigger listed by a release that listed without counting: on the list, not in the count.
    store_bypassing_validation(stack, "legacy", HOURLY)
    legacy = TriggerKey("main", "tests", "legacy", "cron")
    stack.dynamodb.update_item(
        TableName=settings().triggers_table,
        Key=state_key(legacy),
        UpdateExpression="SET listTenant = :tenant, listKey = :identity",
        ExpressionAttributeValues={":tenant": {"S": "main"}, ":identity": {"S": "tests#legacy#cron"}},
    )
    assert trigger_listing.count("main") == 1
    tick(stack)
    assert trigger_listing.count("main") == declared(stack) == 3
    tick(stack)  # done: nothing counted twice
    assert total(stack) == 3


def test_a_namespace_total_is_exact_near_its_end_and_a_lower_bound_beyond(stack, monkeypatch):
    monkeypatch.setattr(trigger_pages, "TOTAL_LOOKAHEAD", 2)
    for n in range(6):
        save(stack, f"f{n}", "count" if n % 2 else "count.sub", ("a",))
    save(stack, "outside", "counting", ("a",))  # a namespace that merely starts the same

    def page(number: int) -> tuple[int, int]:
        answer = stack.call("GET", f"/api/v1/triggers/search?namespace=count&size=1&page={number}")
        assert answer.status == 200, answer.raw
        return len(answer.body["results"]), answer.body["total"]

    assert 3 < page(1)[1] <= 6  # more than the page's end and TOTAL_LOOKAHEAD: a next page is offered
    assert page(4) == (1, 6)  # two follow: counted exactly
    assert page(6) == (1, 6)
    assert page(7) == (0, 6)  # past the end: every key was read
