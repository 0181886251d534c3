"""Kestra's trigger routes around a backfill: a flow's Triggers tab, set-disabled, restart, unlock, delete (one, by
triggers, by query) and 2.0's backfill create, each answer checked against Kestra's 1.3 and 2.0 schemas."""

import pytest

from tests.flows import QUICK, backfill_body, ref
from tests.harness import Harness
from tests.integration.test_live_schedule import MINUTE, every_minute, register, tick
from tests.kestra_schemas import problems

YAML = "application/x-yaml"
MANY = "id: many\nnamespace: tests\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
MANY += "triggers:\n" + "".join(
    f"  - id: t{i:02}\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '{i} * * * *'\n" for i in range(11)
)


@pytest.fixture
def stack(aws):
    """The handlers against moto, without the example flows: the searches here count every flow."""
    return Harness(aws)


def both_kestras_read(body, one_three: str, two_zero: str) -> None:
    assert problems("1.3", body, one_three) == []
    assert problems("2.0", body, two_zero) == []


def created(stack, source: str = QUICK) -> None:
    answer = stack.call("POST", "/api/v1/flows", source, YAML)
    assert answer.status == 200, answer.raw


def test_the_triggers_tab_of_a_flow_pages_sorts_and_searches_its_triggers(stack):
    """Was: GET /triggers/{namespace}/{flowId} (Kestra UI's Triggers tab) was a 404."""
    created(stack, MANY)
    created(stack)
    tab = stack.call("GET", "/api/v1/triggers/tests/many")
    assert tab.status == 200, tab.raw
    assert tab.body["total"] == 11
    assert [t["triggerId"] for t in tab.body["results"]] == [f"t{i:02}" for i in range(10)]  # Kestra's size: 10
    both_kestras_read(tab.body, "PagedResults_Trigger_", "PagedResults_ApiTriggerState_")
    assert tab.body["results"][0]["kind"] == "SCHEDULE" and tab.body["results"][0]["locked"] is False

    last = stack.call("GET", "/api/v1/triggers/tests/many?sort=triggerId:desc&size=2&page=2").body
    assert [t["triggerId"] for t in last["results"]] == ["t08", "t07"]
    assert [t["triggerId"] for t in stack.call("GET", "/api/v1/triggers/tests/many?q=T1").body["results"]] == ["t10"]
    assert stack.call("GET", "/api/v1/triggers/tests/absent").body == {"results": [], "total": 0}
    refused = stack.call("GET", "/api/v1/triggers/tests/many?sort=cron:asc")
    assert refused.status == 422 and "sort" in refused.message
    filtered = stack.call("GET", "/api/v1/triggers/tests/many?filters[triggerId][EQUALS]=t01")
    assert filtered.status == 422 and "filters[triggerId][EQUALS]" in filtered.message


def test_trigger_search_takes_kestras_size_sort_and_q(stack):
    created(stack, MANY)
    created(stack)
    page = stack.call("GET", "/api/v1/triggers/search?namespace=tests")
    assert (len(page.body["results"]), page.body["total"]) == (10, 12)
    both_kestras_read(page.body, "PagedResults_TriggerController.Triggers_", "PagedResults_ApiTriggerAndState_")
    for entry in page.body["results"]:
        assert entry["trigger"] == entry["abstractTrigger"] and entry["state"] == entry["triggerContext"]
    ordered = stack.call("GET", "/api/v1/triggers/search?sort=flowId:desc&sort=triggerId:desc&size=3").body
    assert [(e["state"]["flowId"], e["state"]["triggerId"]) for e in ordered["results"]] == [
        ("quick", "every_hour"),
        ("many", "t10"),
        ("many", "t09"),
    ]
    comma_separated = stack.call("GET", "/api/v1/triggers/search?sort=flowId:desc,triggerId:desc&size=3").body
    assert [e["state"]["triggerId"] for e in comma_separated["results"]] == ["every_hour", "t10", "t09"]  # kestrapy's
    assert stack.call("GET", "/api/v1/triggers/search?q=every").body["total"] == 1
    assert stack.call("GET", "/api/v1/triggers/search?filters[namespace][EQUALS]=nothing").body["total"] == 0


def test_set_disabled_one_by_triggers_and_by_query(stack):
    created(stack)
    created(stack, QUICK.replace("id: quick", "id: other"))
    backfill_id = stack.call(
        "PUT", "/api/v1/triggers", backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T05:00:00Z")
    ).body["backfill"]["id"]
    one = stack.call("PUT", "/api/v1/triggers/set-disabled", {**ref("quick"), "disabled": True})
    assert one.status == 200, one.raw
    assert one.body["disabled"] is True and one.body["backfill"]["triggerDisabled"] is True  # the backfill holds
    both_kestras_read(one.body, "Trigger", "ApiTriggerState")
    assert stack.call("PUT", "/api/v1/triggers/set-disabled", ref("quick")).status == 422  # disabled: required
    absent = stack.call("PUT", "/api/v1/triggers/set-disabled", {**ref("absent"), "disabled": True})
    assert absent.status == 404

    bulk = stack.call(
        "POST",
        "/api/v1/triggers/set-disabled/by-triggers",
        {"triggers": [ref("quick"), ref("absent")], "disabled": False},
    )
    assert bulk.body == {"count": 1, "totalItems": 1}
    assert problems("2.0", bulk.body, "ApiAsyncOperationResponse") == []
    assert stack.backfill(backfill_id)["triggerDisabled"] is False
    assert stack.call("POST", "/api/v1/triggers/set-disabled/by-query?namespace=tests").body["count"] == 2
    disabled = stack.call("GET", "/api/v1/triggers/search?namespace=tests").body["results"]
    assert [e["state"]["disabled"] for e in disabled] == [True, True]
    assert stack.call("POST", "/api/v1/triggers/set-disabled/by-query?q=other&disabled=false").body["count"] == 1
    none = stack.call("POST", "/api/v1/triggers/set-disabled/by-query?filters[namespace][EQUALS]=x&disabled=false")
    assert none.body["count"] == 0  # Kestra's filters hold: no trigger of namespace x
    by_filter = "/api/v1/triggers/set-disabled/by-query?filters[flowId][EQUALS]=quick&disabled=false"
    assert stack.call("POST", by_filter).body["count"] == 1
    now = stack.call("GET", "/api/v1/triggers/search?namespace=tests&sort=flowId:asc").body["results"]
    assert [e["state"]["disabled"] for e in now] == [False, False]


def test_restart_takes_the_live_schedule_up_afresh(stack):
    """Kestra's restart re-evaluates a trigger from scratch: here the minutes missed before it are not
    recovered (recoverMissedSchedules ALL would run them), the next tick runs its own minute only."""
    base = register(stack, every_minute())
    assert tick(stack, base)["dispatchedSlots"] == 1
    restarted = stack.call("POST", "/api/v1/triggers/live/minutely/cron/restart")
    assert restarted.status == 200, restarted.raw
    assert problems("2.0", restarted.body, "ApiTriggerState") == []
    assert "evaluatedAt" not in restarted.body  # not evaluated since
    assert tick(stack, base + 4 * MINUTE)["dispatchedSlots"] == 1  # not 4: minutes 1-3 are not recovered
    assert stack.call("POST", "/api/v1/triggers/live/minutely/absent/restart").status == 404


def test_unlock_is_a_conflict_as_no_trigger_is_ever_locked(stack):
    created(stack)
    refused = stack.call("POST", "/api/v1/triggers/tests/quick/every_hour/unlock")
    assert refused.status == 409 and "not locked" in refused.message
    assert stack.call("POST", "/api/v1/triggers/tests/absent/every_hour/unlock").status == 404
    assert stack.call("POST", "/api/v1/triggers/unlock/by-triggers", [ref("quick")]).body["count"] == 0
    assert stack.call("POST", "/api/v1/triggers/unlock/by-query?namespace=tests").body["count"] == 0


def test_deleting_a_trigger_cancels_its_backfill_and_forgets_its_state(stack):
    created(stack)
    backfill_id = stack.call(
        "PUT", "/api/v1/triggers", backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T05:00:00Z")
    ).body["backfill"]["id"]
    assert stack.call("PUT", "/api/v1/triggers/set-disabled", {**ref("quick"), "disabled": True}).status == 200
    deleted = stack.call("DELETE", "/api/v1/triggers/tests/quick/every_hour")
    assert (deleted.status, deleted.raw) == (204, "")
    assert stack.backfill(backfill_id)["status"] in ("CANCELLING", "CANCELLED")
    context = stack.call("GET", "/api/v1/triggers/tests/quick").body["results"][0]
    assert context["disabled"] is False and context.get("backfill") is None
    assert stack.call("DELETE", "/api/v1/triggers/tests/quick/absent").status == 404

    assert stack.call("DELETE", "/api/v1/triggers/delete/by-triggers", [ref("quick"), ref("absent")]).body == {
        "count": 1,
        "totalItems": 1,
    }
    assert stack.call("DELETE", "/api/v1/triggers/delete/by-query?namespace=tests").body["count"] == 1
    refused = stack.call("DELETE", "/api/v1/triggers/delete/by-query", {"filters": [{"field": "NAMESPACE"}]})
    assert refused.status == 422 and "filters" in refused.message  # in the body: only as query parameters
    assert stack.call("DELETE", "/api/v1/triggers/delete/by-query?filters[namespace][EQUALS]=x").body["count"] == 0


def test_kestra_2_creates_pauses_and_deletes_a_backfill_with_its_trigger_id_bodies(stack):
    """Was: kestrapy 2.0's create_backfill (PUT /triggers/backfill/create) was a 404."""
    created(stack)
    body = backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T05:00:00Z")
    made = stack.call("PUT", "/api/v1/triggers/backfill/create", body)
    assert made.status == 200, made.raw
    assert made.body["backfill"]["start"] == "2024-01-01T00:00:00Z"
    both_kestras_read(made.body, "Trigger", "ApiTriggerState")
    assert stack.call("PUT", "/api/v1/triggers/backfill/create", body).status == 409  # it overlaps the first
    assert stack.call("PUT", "/api/v1/triggers/backfill/create", ref("quick")).status == 422  # backfill: required

    none = stack.call("POST", "/api/v1/triggers/backfill/pause/by-query?filters[namespace][EQUALS]=nothing")
    assert none.body["count"] == 0  # was: {"count": 1}, another namespace's backfill paused
    assert stack.backfill(made.body["backfill"]["id"])["paused"] is False
    paused = stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick"))
    assert paused.body["backfill"]["paused"] is True
    both_kestras_read(paused.body, "Trigger", "ApiTriggerState")
    gone = stack.call("POST", "/api/v1/triggers/backfill/delete", ref("quick"))
    assert gone.status == 200
    both_kestras_read(gone.body, "Trigger", "ApiTriggerState")
    bulk = stack.call("POST", "/api/v1/triggers/backfill/unpause/by-triggers", [ref("quick")])
    assert problems("2.0", bulk.body, "ApiAsyncOperationResponse") == []


def test_a_trigger_search_sorted_by_name_reads_the_states_of_its_page_only(stack, monkeypatch):
    """Was: the search read every trigger's state and backfills before paging (two reads a trigger: 4 s at 44
    triggers). Sorted by namespace, flow or trigger id, only the page's are read; by a date, all must be."""
    from backfill_core.storage import triggers_repository

    created(stack, MANY)
    reads: list[str] = []
    real = triggers_repository.get_state
    monkeypatch.setattr(triggers_repository, "get_state", lambda key: reads.append(key.trigger_id) or real(key))
    page = stack.call("GET", "/api/v1/triggers/search?namespace=tests&sort=triggerId:desc&page=2&size=3").body
    assert page["total"] == 11
    assert [entry["triggerContext"]["triggerId"] for entry in page["results"]] == ["t07", "t06", "t05"]
    assert reads == ["t07", "t06", "t05"]
    reads.clear()
    by_date = stack.call("GET", "/api/v1/triggers/search?namespace=tests&sort=nextExecutionDate:asc&size=3").body
    assert by_date["total"] == 11 and len(by_date["results"]) == 3 and len(reads) == 11
