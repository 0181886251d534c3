"""Bad input gets a 4xx whose message names the field, and changes nothing."""

import pytest

GOOD = {
    "namespace": "dev",
    "flowId": "scheduled_flow",
    "triggerId": "schedule",
    "backfill": {
        "start": "2024-03-28T06:30:00Z",
        "end": "2024-03-28T11:30:00Z",
        "labels": [{"key": "reason", "value": "outage"}],
    },
}


def with_backfill(**changes):
    body = {**GOOD, "backfill": {**GOOD["backfill"], **changes}}
    return {k: v for k, v in body.items() if v is not ...}


def without_start():
    body = with_backfill()
    del body["backfill"]["start"]
    return body


WEBHOOK_FLOW = """
id: hooked
namespace: dev
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: webhook
    type: io.kestra.plugin.core.trigger.Webhook
    key: secret
"""

CASES = [
    ("missing start", without_start(), 422, "backfill.start"),
    ("unparseable date", with_backfill(start="yesterday at noon"), 422, "backfill.start"),
    ("start after end", with_backfill(start="2024-03-28T12:00:00Z"), 422, "backfill.start"),
    ("end in the future", with_backfill(end="2999-01-01T00:00:00Z"), 422, "backfill.end"),
    ("unknown flow", {**GOOD, "flowId": "nope"}, 404, "nope"),
    ("unknown trigger", {**GOOD, "triggerId": "nope"}, 404, "triggerId"),
    ("labels a string", with_backfill(labels="reason=outage"), 422, "backfill.labels"),
    ("labels list of strings", with_backfill(labels=["reason"]), 422, "backfill.labels"),
    ("labels wrong keys", with_backfill(labels=[{"name": "reason"}]), 422, "backfill.labels"),
    ("no slot in window", with_backfill(start="2024-03-28T06:31:00Z", end="2024-03-28T06:59:00Z"), 422, "no slot"),
    ("missing flowId", {k: v for k, v in GOOD.items() if k != "flowId"}, 422, "flowId"),
    ("missing backfill", {k: v for k, v in GOOD.items() if k != "backfill"}, 422, "backfill"),
]


def assert_nothing_changed(stack):
    assert stack.queue_depth() == 0
    assert stack.item_count("ExecutionsTable") == 0
    triggers = stack.call("GET", "/api/v1/triggers/search?namespace=dev").body["results"]
    assert all(t["triggerContext"].get("backfill") is None for t in triggers)
    # Only trigger STATE items may exist (none are written by a refused call).
    assert stack.item_count("TriggersTable") == 0


@pytest.mark.parametrize(("case", "body", "status", "field"), CASES, ids=[c[0] for c in CASES])
def test_refused_and_nothing_changed(stack, case, body, status, field):
    answer = stack.call("PUT", "/api/v1/triggers", body)
    assert answer.status == status, answer.raw
    assert field in answer.message, answer.message
    assert_nothing_changed(stack)


def test_body_that_is_not_json(stack):
    answer = stack.call("PUT", "/api/v1/triggers", b"{not json", "application/json")
    assert answer.status == 400
    assert "JSON" in answer.message
    assert_nothing_changed(stack)


def test_labels_as_a_map_are_accepted(stack):
    answer = stack.call("PUT", "/api/v1/triggers", with_backfill(labels={"reason": "outage"}))
    assert answer.status == 200, answer.raw
    assert answer.body["backfill"]["labels"] == [{"key": "reason", "value": "outage"}]


def test_second_backfill_on_a_running_trigger_is_refused_and_the_first_kept(stack):
    first = stack.call("PUT", "/api/v1/triggers", GOOD)
    assert first.status == 200
    second = stack.call("PUT", "/api/v1/triggers", with_backfill(start="2024-03-01T00:00:00Z"))
    assert second.status == 409
    assert first.body["backfill"]["id"] in second.message
    assert stack.queue_depth() == 1
    stack.drain()
    assert len(stack.executions(namespace="dev")) == 11
    # Once the first one is done, a new one is accepted.
    assert stack.call("PUT", "/api/v1/triggers", with_backfill(start="2024-03-28T11:00:00Z")).status == 200


@pytest.mark.parametrize(("method", "action"), [("PUT", "pause"), ("PUT", "unpause"), ("POST", "delete")])
def test_controls_without_a_backfill_say_no_backfill_found(stack, method, action):
    ref = {"namespace": "dev", "flowId": "scheduled_flow", "triggerId": "schedule"}
    answer = stack.call(method, f"/api/v1/triggers/backfill/{action}", ref)
    assert answer.status == 400
    assert answer.message == "No backfill found"
    assert_nothing_changed(stack)


def test_controls_on_unknown_flow_are_404(stack):
    ref = {"namespace": "dev", "flowId": "ghost", "triggerId": "schedule"}
    answer = stack.call("PUT", "/api/v1/triggers/backfill/pause", ref)
    assert answer.status == 404
    assert "ghost" in answer.message


def test_unknown_route_is_404_with_a_message(stack):
    answer = stack.call("GET", "/api/v1/nothing/here")
    assert answer.status == 404
    assert "/api/v1/nothing/here" in answer.message


def test_a_flow_with_a_trigger_that_would_never_fire_here_is_refused_at_registration(stack):
    """A Webhook trigger used to be stored and never fire (issue 13: nothing accepted and then ignored)."""
    answer = stack.call("POST", "/api/v1/flows", WEBHOOK_FLOW, "application/x-yaml")
    assert answer.status == 422, answer.raw
    assert "triggers[0].type: trigger type 'io.kestra.plugin.core.trigger.Webhook' is not supported" in answer.message
    assert stack.call("GET", "/api/v1/flows/dev/hooked").status == 404


def test_a_task_timeout_no_executor_invocation_could_give_is_refused_at_registration(stack):
    """Point 7 of issue 13: refused before it starts, rather than every slot failing at the executor's limit."""
    flow = WEBHOOK_FLOW.split("triggers:")[0].replace("    message: hi\n", "    message: hi\n    timeout: PT2H\n")
    answer = stack.call("POST", "/api/v1/flows", flow, "application/x-yaml")
    assert answer.status == 422, answer.raw
    assert "tasks[0].timeout: PT2H is longer than the" in answer.message
    verdict = stack.call("POST", "/api/v1/flows/validate", flow, "application/x-yaml").body
    assert "tasks[0].timeout" in verdict[0]["constraints"]


def test_a_timeout_a_plugin_default_brings_is_held_to_the_same_budget(stack):
    """Was: the budget read the YAML as written, so `pluginDefaults` could give every task a timeout no
    invocation could honour and the flow registered."""
    flow = WEBHOOK_FLOW.split("triggers:")[0] + (
        "pluginDefaults:\n  - type: io.kestra.plugin.core.log.Log\n    values:\n      timeout: PT2H\n"
    )
    answer = stack.call("POST", "/api/v1/flows", flow, "application/x-yaml")
    assert answer.status == 422, answer.raw
    assert "tasks[0].timeout: PT2H is longer than the" in answer.message


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/v1/executions/0000000000000000000000", None, 404),  # the domain's error
        ("GET", "/api/v1/executions/search?state=BOGUS&size=2", None, 422),  # a parameter refused
        ("PUT", "/api/v1/Acme/triggers", GOOD, 422),  # refused before any route reads it
        ("GET", "/api/v1/nothing/here", None, 404),  # no route
    ],
)
def test_an_error_links_the_request_it_answers_as_kestra_s_errors_do(stack, method, path, body, status):
    """Kestra's errors (Micronaut's JsonError) carry `_links.self.href`, the request refused; ours had only
    the message."""
    answer = stack.call(method, path, body)
    assert answer.status == status, answer.raw
    assert answer.message
    assert answer.body["_links"] == {"self": {"href": path, "templated": False}}


@pytest.mark.parametrize(
    ("path", "unknown"),
    [
        ("/api/v1/executions/search?namespaces=dev", "namespaces"),  # misspelt: it would have read every namespace
        ("/api/v1/triggers/search?namespace=dev&scope=USER", "scope"),
        ("/api/v1/flows/dev/scheduled_flow?revision=1&colour=red", "colour"),
    ],
)
def test_a_parameter_the_route_does_not_take_is_refused_naming_it(stack, path, unknown):
    """Was: an undeclared query parameter was ignored, so a misspelt filter answered everything."""
    answer = stack.call("GET", path)
    assert answer.status == 422, answer.raw
    assert answer.message.startswith(f"{unknown}: not a parameter of GET {path.split('?')[0]}; it takes ")


@pytest.mark.parametrize("status", ["FOO", "running"])
def test_a_backfills_list_status_that_is_no_status_is_refused_naming_it(stack, status):
    """Was: any string was taken, so a misspelt status answered an empty list, as if there were no backfill."""
    answer = stack.call("GET", f"/api/v1/backfills?status={status}")
    assert answer.status == 422 and answer.message.startswith("status"), answer.raw
    assert stack.call("GET", "/api/v1/backfills?status=RUNNING").status == 200
