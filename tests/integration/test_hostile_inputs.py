"""Hostile input against the API handler: each is refused with a clear 4xx naming the field or the limit, quickly,
and leaves every table and queue exactly as it was. The one that a user may mean (a backfill over a century of
every second) is accepted, and the API's work for it does not grow with the range."""

import json
import time

import pytest

from backfill_core.settings import settings

REF = {"namespace": "dev", "flowId": "scheduled_flow", "triggerId": "schedule"}
WINDOW = {"start": "2024-03-28T06:30:00Z", "end": "2024-03-28T11:30:00Z"}


def trigger_body(**backfill) -> dict:
    return {**REF, "backfill": {**WINDOW, **backfill}}


def flow_yaml(cron: str = "*/30 * * * *", timezone: str = "UTC", flow_id: str = "hostile", extra: str = "") -> str:
    return f"""
id: {flow_id}
namespace: dev
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: schedule
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "{cron}"
    timezone: "{timezone}"
{extra}"""


def nested(depth: int) -> str:
    return '{"namespace": ' + "[" * depth + "]" * depth + "}"


def yaml_bomb(levels: int = 9) -> str:
    """Billion laughs: nine aliases of nine aliases ..., 9**9 strings once expanded, 1 kB as text."""
    lines = ['x0: &l0 ["lol"]']
    lines += [f"x{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]" for n in range(1, levels)]
    return flow_yaml(extra="\n".join(lines) + "\n")


WRONG_TYPES = [
    ("start", ["2024"]),
    ("start", {"at": "2024"}),
    ("start", ""),
    ("end", [1]),
    ("end", "soon"),
    ("inputs", ["a", "b"]),
    ("inputs", "x=1"),
    ("labels", 42),
    ("labels", [["reason", "outage"]]),
    ("concurrency", "many"),
    ("concurrency", 0),
    ("concurrency", 1.5),
    ("order", 1),
    ("order", "sideways"),
    ("reprocess", []),
    ("maxFailures", "x"),
    ("maxFailures", 0),
]

# (case, method, path, body, content type, status, words the message must hold)
CASES = (
    [
        (
            "10 MB body",
            "PUT",
            "/api/v1/triggers",
            b'{"x": "' + b"a" * 10_000_000 + b'"}',
            "application/json",
            413,
            ["body", "bytes"],
        ),
        (
            "10 MB flow",
            "POST",
            "/api/v1/flows",
            flow_yaml() + "description: " + "a" * 10_000_000,
            "application/x-yaml",
            413,
            ["body", "bytes"],
        ),
        (
            "10,000 labels",
            "PUT",
            "/api/v1/triggers",
            trigger_body(labels={str(n): "" for n in range(10_000)}),
            "application/json",
            422,
            ["backfill.labels", "at most"],
        ),
        (
            "a label value of 200 kB",
            "PUT",
            "/api/v1/triggers",
            trigger_body(labels={"reason": "x" * 200_000}),
            "application/json",
            413,
            ["body", "bytes"],
        ),
        (
            "NUL in the namespace",
            "PUT",
            "/api/v1/triggers",
            {**trigger_body(), "namespace": "dev\x00"},
            "application/json",
            404,
            ["dev\x00"],
        ),
        ("NUL in a path id", "GET", "/api/v1/executions/abc%00def", None, "application/json", 404, ["abc"]),
        ("NUL in a flow id", "POST", "/api/v1/flows", flow_yaml(flow_id='"a\\0b"'), "application/x-yaml", 422, ["id"]),
        (
            "non-UTF-8 JSON body",
            "PUT",
            "/api/v1/triggers",
            b'{"namespace": "\xff\xfe"}',
            "application/json",
            400,
            ["UTF-8"],
        ),
        ("non-UTF-8 flow", "POST", "/api/v1/flows", b"id: \xff\xfe\n", "application/x-yaml", 400, ["UTF-8"]),
        ("empty JSON body", "PUT", "/api/v1/triggers", b"", "application/json", 422, ["body"]),
        ("JSON null body", "PUT", "/api/v1/triggers", b"null", "application/json", 422, ["body"]),
        ("JSON list body", "PUT", "/api/v1/triggers", [REF, REF], "application/json", 422, ["body"]),
        ("a list holding a good body", "PUT", "/api/v1/triggers", [trigger_body()], "application/json", 422, ["list"]),
        ("empty flow", "POST", "/api/v1/flows", b"", "application/x-yaml", 422, ["body", "YAML"]),
        ("deeply nested JSON", "PUT", "/api/v1/triggers", nested(50_000), "application/json", 400, ["nested"]),
        (
            "deeply nested YAML",
            "POST",
            "/api/v1/flows",
            "a: " + "[" * 20_000 + "]" * 20_000,
            "application/x-yaml",
            422,
            ["nested"],
        ),
        ("YAML alias bomb", "POST", "/api/v1/flows", yaml_bomb(), "application/x-yaml", 422, ["alias"]),
        (
            "a form, not JSON",
            "PUT",
            "/api/v1/triggers",
            json.dumps(trigger_body()),
            "application/x-www-form-urlencoded",
            415,
            ["Content-Type", "application/json"],
        ),
        (
            "multipart without a boundary",
            "PUT",
            "/api/v1/triggers",
            b"--x\r\n",
            "multipart/form-data",
            415,
            ["Content-Type"],
        ),
        ("text/plain", "PUT", "/api/v1/triggers", json.dumps(trigger_body()), "text/plain", 415, ["Content-Type"]),
        (
            "timezone that does not exist",
            "POST",
            "/api/v1/flows",
            flow_yaml(timezone="Mars/Olympus_Mons"),
            "application/x-yaml",
            422,
            ["triggers[schedule].timezone", "Mars/Olympus_Mons"],
        ),
        (
            "timezone as a path",
            "POST",
            "/api/v1/flows",
            flow_yaml(timezone="../../../etc/passwd"),
            "application/x-yaml",
            422,
            ["triggers[schedule].timezone"],
        ),
        (
            "cron with a zero step",
            "POST",
            "/api/v1/flows",
            flow_yaml(cron="*/0 * * * *"),
            "application/x-yaml",
            422,
            ["triggers[schedule].cron"],
        ),
        (
            "cron minute 61",
            "POST",
            "/api/v1/flows",
            flow_yaml(cron="61 * * * *"),
            "application/x-yaml",
            422,
            ["triggers[schedule].cron"],
        ),
        (
            "cron with four fields",
            "POST",
            "/api/v1/flows",
            flow_yaml(cron="* * * *"),
            "application/x-yaml",
            422,
            ["triggers[schedule].cron", "5 fields"],
        ),
        (
            "cron @reboot",
            "POST",
            "/api/v1/flows",
            flow_yaml(cron="@reboot"),
            "application/x-yaml",
            422,
            ["triggers[schedule].cron"],
        ),
        (
            "cron that never fires (31 February)",
            "POST",
            "/api/v1/flows",
            flow_yaml(cron="0 0 31 2 *"),
            "application/x-yaml",
            422,
            ["triggers[schedule].cron", "never"],
        ),
        ("unknown route", "GET", "/api/v1/nothing/here", None, "application/json", 404, ["GET /api/v1/nothing/here"]),
        ("unknown method", "TRACE", "/api/v1/flows/dev/scheduled_flow", None, "application/json", 404, ["TRACE"]),
        ("DELETE on a PUT route", "DELETE", "/api/v1/triggers", None, "application/json", 404, ["DELETE"]),
        (
            "path traversal in a flow id",
            "GET",
            "/api/v1/flows/dev/..%2F..%2Fetc%2Fpasswd",
            None,
            "application/json",
            404,
            ["passwd"],
        ),
        ("dot-dot segments", "DELETE", "/api/v1/flows/../..", None, "application/json", 404, [".."]),
        (
            "path traversal in an execution id",
            "GET",
            "/api/v1/logs/..%2F..%2F..%2Fetc%2Fpasswd",
            None,
            "application/json",
            404,
            ["passwd"],
        ),
        (
            "a page size of 10**30",
            "GET",
            "/api/v1/executions/search?size=" + "1" + "0" * 30,
            None,
            "application/json",
            422,
            ["size"],
        ),
        ("a negative page", "GET", "/api/v1/backfills?page=-1", None, "application/json", 422, ["page"]),
        (
            "an execution state that does not exist",
            "GET",
            "/api/v1/executions/search?state=DONE",
            None,
            "application/json",
            422,
            ["state", "SUCCESS"],
        ),
        ("a slots page of 0", "GET", "/api/v1/backfills/nope/slots?size=0", None, "application/json", 422, ["size"]),
        (
            "a dry run without a backfill",
            "POST",
            "/api/v1/backfills/dry-run",
            REF,
            "application/json",
            422,
            ["backfill"],
        ),
        (
            "concurrency of a billion",
            "PUT",
            "/api/v1/triggers",
            trigger_body(concurrency=10**9),
            "application/json",
            422,
            ["concurrency"],
        ),
        (
            "start in year 0",
            "PUT",
            "/api/v1/triggers",
            trigger_body(start="0000-01-01T00:00:00Z"),
            "application/json",
            422,
            ["backfill.start"],
        ),
        (
            "an undeclared input",
            "PUT",
            "/api/v1/triggers",
            trigger_body(inputs={"../../x": 1}),
            "application/json",
            422,
            ["backfill.inputs"],
        ),
    ]
    + [
        (
            f"backfill.{field} = {value!r}",
            "PUT",
            "/api/v1/triggers",
            trigger_body(**{field: value}),
            "application/json",
            422,
            [f"backfill.{field}"],
        )
        for field, value in WRONG_TYPES
    ]
    + [
        (
            f"{field} = {value!r}",
            "PUT",
            "/api/v1/triggers",
            {**trigger_body(), field: value},
            "application/json",
            422,
            [field],
        )
        for field, value in [
            ("namespace", 1),
            ("flowId", []),
            ("triggerId", {}),
            ("disabled", "yes"),
            ("backfill", [1]),
        ]
    ]
)


def observed(stack) -> dict:
    """Every item of every table and the depth of every queue: what a refused request must not change."""
    state = {}
    for table in stack.dynamodb.list_tables()["TableNames"]:
        pages = stack.dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        state[table] = sorted(json.dumps(item, sort_keys=True) for page in pages for item in page["Items"])
    state["queues"] = [stack.queue_depth(stack.queue_url), stack.queue_depth(stack.dlq_url)]
    return state


@pytest.mark.parametrize(
    ("case", "method", "path", "body", "content_type", "status", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_hostile_input_is_refused_clearly_and_changes_nothing(
    stack, case, method, path, body, content_type, status, words
):
    before = observed(stack)
    began = time.monotonic()
    answer = stack.call(method, path, body, content_type)
    took = time.monotonic() - began
    assert answer.status == status, answer.raw[:500]
    for word in words:
        assert word in answer.message, answer.message[:500]
    assert took < 10, f"{case} took {took:.1f}s"
    assert observed(stack) == before


def test_a_century_of_every_second_is_accepted_without_stepping_through_it(stack):
    """3.16 billion slots: the API counts them by arithmetic and dispatches one window, in well under a second's
    work per year of range, and the dry run agrees on the count."""
    source = flow_yaml(cron="* * * * * *", flow_id="every_second").replace('timezone: "UTC"', "withSeconds: true")
    assert stack.call("POST", "/api/v1/flows", source, "application/x-yaml").status == 200
    body = {
        **REF,
        "flowId": "every_second",
        "backfill": {"start": "1924-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
    }
    began = time.monotonic()
    dry = stack.call("POST", "/api/v1/backfills/dry-run", body)
    created = stack.call("PUT", "/api/v1/triggers", body)
    took = time.monotonic() - began
    assert dry.status == 200, dry.raw[:500]
    assert created.status == 200, created.raw[:500]
    seconds = 100 * 365 * 86400 + 25 * 86400 + 1  # 25 leap days (1924..2020), both ends included
    assert dry.body["total"] == seconds
    progress = stack.backfill(created.body["backfill"]["id"])
    assert progress["total"] == seconds
    assert stack.queue_depth() == settings().default_concurrency  # one window dispatched, not a century
    assert took < 10, f"took {took:.1f}s"


def test_a_body_just_under_the_limit_is_stored(stack):
    """The body limit keeps what is stored under DynamoDB's 400 KB item: a flow of nearly the limit is accepted."""
    source = flow_yaml(flow_id="wordy") + "description: " + "a" * (settings().max_body_bytes - 400) + "\n"
    created = stack.call("POST", "/api/v1/flows", source, "application/x-yaml")
    assert created.status == 200, created.raw[:500]
    assert stack.call("GET", "/api/v1/flows/dev/wordy").body["description"] == "a" * (settings().max_body_bytes - 400)
