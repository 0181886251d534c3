"""Limits a user meets: the longest ids Kestra allows run end to end, caller inputs stay data, answers stay
within one Lambda answer, and a throttled DynamoDB is a 503 to retry rather than a crash."""

import json

import pytest
from botocore.exceptions import ClientError

from backfill_core import aws_clients
from backfill_core.kestra_api import searches
from backfill_core.storage import batches
from local.api_server import proxy_event
from local.lambda_runtime import LambdaContext
from tests.flows import QUICK, backfill_body

# Kestra's limits: namespace 150, flow id 100 (AbstractFlow), trigger and task ids 150 (its tables' columns).
NAMESPACE = "n" * 150
FLOW_ID = "f" * 100
TRIGGER_ID = "s" * 150
LONGEST = f"""
id: {FLOW_ID}
namespace: {NAMESPACE}
tasks:
  - id: {"k" * 150}
    type: io.kestra.plugin.core.log.Log
    message: "slot {{{{ trigger.date }}}}"
triggers:
  - id: {TRIGGER_ID}
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""

GREETER = """
id: greeter
namespace: tests
inputs:
  - id: who
    type: STRING
  - id: where
    type: STRING
    defaults: "{{ flow.namespace }}"
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: "hello {{ inputs.who }} in {{ inputs.where }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""

CHATTY = """
id: chatty
namespace: tests
tasks:
  - id: count
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - seq 1 3000
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def register(stack, source: str) -> None:
    answer = stack.call("POST", "/api/v1/flows", source, "application/x-yaml")
    assert answer.status == 200, answer.raw[:500]


def test_the_longest_ids_kestra_allows_run_a_backfill_to_the_end(stack):
    """A 1,000-character flow id was accepted, then every execution write failed on the ByFlow index's sort key
    and the backfill stayed RUNNING forever (now refused: the hostile table). Ids at Kestra's limits fit every
    key, of every table and index, all the way through."""
    register(stack, LONGEST)
    ref = {"namespace": NAMESPACE, "flowId": FLOW_ID, "triggerId": TRIGGER_ID}
    body = {**ref, "backfill": {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T02:00:00Z", "labels": {"r": "x"}}}
    created = stack.call("PUT", "/api/v1/triggers", body)
    assert created.status == 200, created.raw[:500]
    stack.drain()
    backfill = stack.backfill(created.body["backfill"]["id"])
    assert (backfill["status"], backfill["succeeded"]) == ("SUCCEEDED", 3)
    found = stack.executions(namespace=NAMESPACE, flowId=FLOW_ID)
    assert sorted(e["state"]["current"] for e in found) == ["SUCCESS"] * 3
    assert stack.dlq_url and stack.queue_depth(stack.dlq_url) == 0
    logs = stack.call("GET", f"/api/v1/logs/{found[0]['id']}")
    assert logs.status == 200 and logs.body[0]["message"].startswith("slot 2024-01-01T0")
    triggers = stack.call("GET", f"/api/v1/triggers/search?namespace={NAMESPACE}&flowId={FLOW_ID}")
    assert triggers.body["total"] == 1


def test_a_backfill_input_holding_a_template_is_data_where_it_was_rendered_into_5_mb(stack):
    """Was: `{{ 'x' * 5000000 }}` as a backfill input answered a 5 MB dry run and put 390 KB into the backfill
    record. The caller's value is kept as written; the author's default is still rendered."""
    register(stack, GREETER)
    value = "{{ 'x' * 5000000 }}"
    body = backfill_body("greeter", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", inputs={"who": value})
    dry = stack.call("POST", "/api/v1/backfills/dry-run", body)
    assert dry.status == 200, dry.raw[:500]
    assert dry.body["inputs"] == {"who": value, "where": "tests"}
    assert len(dry.raw) < 10_000
    created = stack.call("PUT", "/api/v1/triggers", body)
    assert created.status == 200, created.raw[:500]
    assert created.body["backfill"]["inputs"]["who"] == value
    stack.drain()
    (execution,) = stack.executions(namespace="tests", flowId="greeter")
    assert execution["inputs"] == {"who": value, "where": "tests"}
    logs = stack.call("GET", f"/api/v1/logs/{execution['id']}").body
    assert [line["message"] for line in logs] == [f"hello {value} in tests"]


def test_a_search_page_past_the_answer_limit_names_the_size_that_fits(stack, monkeypatch):
    """Was: executions/search?size=10000 could pass Lambda's 6 MB answer. A page is refused with the size that
    fits (the bound lowered here to what three executions take), and that size answers."""
    register(stack, QUICK)
    labels = {f"k{n}": "v" * 200 for n in range(20)}
    body = backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T04:00:00Z", labels=labels)
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    one = searches.answer_bytes(stack.executions(namespace="tests")[0]) + 1
    monkeypatch.setattr(searches, "MAX_ANSWER_BYTES", one * 3 + one // 2)
    refused = stack.call("GET", "/api/v1/executions/search?namespace=tests&size=5")
    assert refused.status == 422
    assert refused.message.startswith("size: ") and "(size=3," in refused.message
    fits = stack.call("GET", "/api/v1/executions/search?namespace=tests&size=3&page=2")
    assert fits.status == 200, fits.raw[:300]
    assert (len(fits.body["results"]), fits.body["total"]) == (2, 5)
    listed = stack.call("GET", "/api/v1/backfills?size=25")
    assert listed.status == 200  # one backfill, its labels well within the bound


def test_the_logs_of_a_chatty_execution_come_in_pages_when_they_pass_the_answer_limit(stack, monkeypatch):
    """Was: every log line in one answer, however many. Kestra's plain list still answers when it fits; past the
    bound the answer names size, and page and size read the lines a page at a time, in order."""
    register(stack, CHATTY)
    body = backfill_body("chatty", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    (execution,) = stack.executions(namespace="tests", flowId="chatty")
    every = stack.call("GET", f"/api/v1/logs/{execution['id']}")
    assert every.status == 200
    assert [line["message"] for line in every.body[:3000]] == [str(n) for n in range(1, 3001)]
    monkeypatch.setattr(searches, "MAX_ANSWER_BYTES", 100_000)
    refused = stack.call("GET", f"/api/v1/logs/{execution['id']}")
    assert refused.status == 422 and refused.message.startswith("size: ")
    page = stack.call("GET", f"/api/v1/logs/{execution['id']}?page=2&size=300")
    assert page.status == 200, page.raw[:300]
    assert page.body == every.body[300:600]
    assert stack.call("GET", f"/api/v1/logs/{execution['id']}?page=99&size=300").body == []


def test_the_flows_of_a_large_namespace_come_in_pages_when_they_pass_the_answer_limit(stack, monkeypatch):
    """Was: every flow of the namespace in one answer, however large (30 flows of 110 KB pass Lambda's 6 MB)."""
    every = stack.call("GET", "/api/v1/flows/company.team")
    assert every.status == 200 and len(every.body) >= 1
    assert (
        stack.call(
            "POST", "/api/v1/flows", QUICK.replace("namespace: tests", "namespace: company.team"), "application/x-yaml"
        ).status
        == 200
    )
    both = stack.call("GET", "/api/v1/flows/company.team").body
    monkeypatch.setattr(searches, "MAX_ANSWER_BYTES", max(searches.answer_bytes(flow) for flow in both) + 2)

    refused = stack.call("GET", "/api/v1/flows/company.team")
    assert refused.status == 422 and refused.message.startswith("size: ") and "(size=1," in refused.message
    second = stack.call("GET", "/api/v1/flows/company.team?page=2&size=1")
    assert second.status == 200 and second.body == both[1:2]


THROTTLES = [
    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
    {"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
    {"Error": {"Code": "RequestLimitExceeded", "Message": "slow down"}},
    {
        "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
        "CancellationReasons": [{"Code": "None"}, {"Code": "ThrottlingError"}],
    },
]


def answer_with_headers(stack, method: str, path: str, body: dict | None = None) -> dict:
    """The API's raw proxy answer, headers and all."""
    raw = json.dumps(body).encode() if body else b""
    headers = {"Content-Type": "application/json"} if body else {}
    event = proxy_event(method, path, headers, raw, "127.0.0.1")
    return stack.api_module.lambda_handler(event, LambdaContext("ApiFunction", 30))


@pytest.mark.parametrize("error", THROTTLES, ids=[e["Error"]["Code"] for e in THROTTLES])
def test_a_throttled_dynamodb_answers_503_with_retry_after_where_it_was_a_5xx(stack, monkeypatch, error):
    """Was: the ClientError escaped the handler (a 502 on AWS, a closed connection locally). Now a read or a
    backfill's creation meeting throttling after botocore's retries answers 503 and changes nothing."""
    client = aws_clients.dynamodb()

    def throttled(**_):
        raise ClientError(json.loads(json.dumps(error)), "DynamoDB")

    for operation in ("get_item", "query", "transact_write_items", "put_item", "update_item"):
        monkeypatch.setattr(client, operation, throttled)
    body = {
        "namespace": "dev",
        "flowId": "scheduled_flow",
        "triggerId": "schedule",
        "backfill": {"start": "2024-03-28T06:30:00Z", "end": "2024-03-28T07:30:00Z"},
    }
    for method, path, sent in [("GET", "/api/v1/flows/dev/scheduled_flow", None), ("PUT", "/api/v1/triggers", body)]:
        response = answer_with_headers(stack, method, path, sent)
        assert response["statusCode"] == 503, response["body"][:300]
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        multi = {k.lower(): v for k, v in (response.get("multiValueHeaders") or {}).items()}
        assert headers.get("retry-after") == "2" or multi.get("retry-after") == ["2"]
        assert "throttling" in json.loads(response["body"])["message"]
    monkeypatch.undo()
    assert stack.queue_depth() == 0
    assert stack.item_count("TriggersTable") == 0


def test_any_other_aws_error_is_not_passed_off_as_throttling(stack, monkeypatch):
    client = aws_clients.dynamodb()

    def broken(**_):
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "bad key"}}, "GetItem")

    monkeypatch.setattr(client, "get_item", broken)
    with pytest.raises(ClientError):
        stack.call("GET", "/api/v1/flows/dev/scheduled_flow")


def test_a_search_whose_batch_read_dynamodb_keeps_holding_back_answers_503_with_retry_after(stack, monkeypatch):
    """Was: a 500 (executions), or the same keys asked again at once, with no end (flows, backfills, triggers),
    until the function timed out. Now each retry waits, and past the last one the caller is told to try again."""
    stack.call("POST", "/api/v1/executions/dev/scheduled_flow")
    client = aws_clients.dynamodb()
    monkeypatch.setattr(batches.time, "sleep", lambda seconds: None)

    def holding_back(RequestItems):  # noqa: N803 - botocore's name
        return {"Responses": {}, "UnprocessedKeys": RequestItems}

    monkeypatch.setattr(client, "batch_get_item", holding_back)
    response = answer_with_headers(stack, "GET", "/api/v1/executions/search?namespace=dev")
    assert response["statusCode"] == 503, response["body"][:300]
    assert "throttling" in json.loads(response["body"])["message"]
