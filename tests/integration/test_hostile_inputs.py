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


# A flow with typed inputs, and one whose author wrote a default that renders to 5 MB.
TYPED_FLOW = flow_yaml(flow_id="typed").replace(
    "tasks:",
    """inputs:
  - id: count
    type: INT
    required: false
  - id: payload
    type: JSON
    required: false
  - id: note
    type: STRING
    required: false
tasks:""",
)
PADDED_FLOW = flow_yaml(flow_id="padded").replace(
    "tasks:",
    """inputs:
  - id: padding
    type: STRING
    defaults: "{{ 'x' * 5000000 }}"
tasks:""",
)
LONG = "a" * 10_000
DIGITS = "1" * 5_000  # past Python's 4,300-digit int-string limit


def typed_body(inputs_json: str) -> bytes:
    """A backfill of the typed flow whose inputs are given as raw JSON text (numbers json.dumps cannot write)."""
    return (
        '{"namespace": "dev", "flowId": "typed", "triggerId": "schedule", "backfill": {"start": "2024-03-28T06:30:00Z",'
        f' "end": "2024-03-28T11:30:00Z", "inputs": {inputs_json}}}}}'
    ).encode()


def raw_backfill(field: str, number: str) -> bytes:
    return (
        '{"namespace": "dev", "flowId": "scheduled_flow", "triggerId": "schedule", "backfill": '
        f'{{"start": "2024-03-28T06:30:00Z", "end": "2024-03-28T11:30:00Z", "{field}": {number}}}}}'
    ).encode()


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
        # Ids past Kestra's limits: each was a 5xx, or accepted and then failed on every execution's index key.
        (
            "a 10,000-character flow id",
            "POST",
            "/api/v1/flows",
            flow_yaml(flow_id=LONG),
            "application/x-yaml",
            422,
            ["id", "100"],
        ),
        (
            "a 1,000-character flow id, accepted and then RUNNING forever",
            "POST",
            "/api/v1/flows",
            flow_yaml(flow_id="f" * 1000),
            "application/x-yaml",
            422,
            ["id", "100"],
        ),
        (
            "a 151-character namespace",
            "POST",
            "/api/v1/flows",
            flow_yaml().replace("namespace: dev", "namespace: " + "n" * 151),
            "application/x-yaml",
            422,
            ["namespace", "150"],
        ),
        (
            "a trigger id pushing the key past 2,048 bytes",
            "POST",
            "/api/v1/flows",
            flow_yaml().replace("id: schedule", "id: " + "t" * 3000),
            "application/x-yaml",
            422,
            ["triggers.0.id", "150"],
        ),
        (
            "a 151-character task id",
            "POST",
            "/api/v1/flows",
            flow_yaml().replace("id: hello", "id: " + "k" * 151),
            "application/x-yaml",
            422,
            ["tasks.0.id", "150"],
        ),
        (
            "101 tasks",
            "POST",
            "/api/v1/flows",
            flow_yaml().replace(
                "tasks:\n",
                "tasks:\n"
                + "".join(f"  - {{id: t{n}, type: io.kestra.plugin.core.log.Log, message: x}}\n" for n in range(100)),
            ),
            "application/x-yaml",
            422,
            ["tasks", "100"],
        ),
        (
            "a flow label key of 101 characters",
            "POST",
            "/api/v1/flows",
            flow_yaml(extra="labels:\n  " + "k" * 101 + ": v\n"),
            "application/x-yaml",
            422,
            ["labels", "100 characters"],
        ),
        (
            "a trigger id pushing the key past 2,048 bytes, in a pause",
            "PUT",
            "/api/v1/triggers/backfill/pause",
            {**REF, "triggerId": "t" * 3000},
            "application/json",
            422,
            ["triggerId", "150"],
        ),
        (
            "a 10,000-character flow id in a backfill",
            "PUT",
            "/api/v1/triggers",
            {**trigger_body(), "flowId": LONG},
            "application/json",
            422,
            ["flowId", "100"],
        ),
        (
            "a 10,000-character namespace in a bulk body",
            "POST",
            "/api/v1/triggers/backfill/pause/by-triggers",
            [{**REF, "namespace": LONG}],
            "application/json",
            422,
            ["namespace", "150"],
        ),
        (
            "a 10,000-character flow id in a path",
            "GET",
            f"/api/v1/flows/dev/{LONG}",
            None,
            "application/json",
            422,
            ["flow_id"],
        ),
        (
            "a 10,000-character namespace in a path",
            "DELETE",
            f"/api/v1/flows/{LONG}/x",
            None,
            "application/json",
            422,
            ["namespace"],
        ),
        (
            "a 10,000-character execution id",
            "GET",
            f"/api/v1/executions/{LONG}",
            None,
            "application/json",
            422,
            ["execution_id"],
        ),
        (
            "a 10,000-character execution id to kill",
            "DELETE",
            f"/api/v1/executions/{LONG}/kill",
            None,
            "application/json",
            422,
            ["execution_id"],
        ),
        (
            "a 10,000-character execution id's logs",
            "GET",
            f"/api/v1/logs/{LONG}",
            None,
            "application/json",
            422,
            ["execution_id"],
        ),
        (
            "a 10,000-character backfill id",
            "GET",
            f"/api/v1/backfills/{LONG}",
            None,
            "application/json",
            422,
            ["backfill_id"],
        ),
        (
            "a 10,000-character backfill id's slots",
            "GET",
            f"/api/v1/backfills/{LONG}/slots",
            None,
            "application/json",
            422,
            ["backfill_id"],
        ),
        (
            "a 10,000-character namespace filter",
            "GET",
            f"/api/v1/executions/search?namespace={LONG}",
            None,
            "application/json",
            422,
            ["namespace"],
        ),
        (
            "a 10,000-character flowId filter",
            "GET",
            f"/api/v1/backfills?namespace=dev&flowId={LONG}",
            None,
            "application/json",
            422,
            ["flowId"],
        ),
        (
            "a 10,000-character triggerId filter",
            "GET",
            f"/api/v1/backfills?triggerId={LONG}",
            None,
            "application/json",
            422,
            ["triggerId"],
        ),
        # Integers of more than 4,300 digits: Python's int-string limit made each a 5xx.
        (
            "concurrency of 5,000 digits",
            "PUT",
            "/api/v1/triggers",
            raw_backfill("concurrency", DIGITS),
            "application/json",
            422,
            ["backfill.concurrency"],
        ),
        (
            "maxFailures of 5,000 digits",
            "PUT",
            "/api/v1/triggers",
            raw_backfill("maxFailures", DIGITS),
            "application/json",
            422,
            ["backfill.maxFailures"],
        ),
        (
            "a negative concurrency of 5,000 digits",
            "PUT",
            "/api/v1/triggers",
            raw_backfill("concurrency", "-" + DIGITS),
            "application/json",
            422,
            ["backfill.concurrency"],
        ),
        (
            "concurrency of 5,000 digits in a change",
            "PATCH",
            "/api/v1/backfills/nope",
            f'{{"concurrency": {DIGITS}}}'.encode(),
            "application/json",
            422,
            ["concurrency"],
        ),
        (
            "a page of 5,000 digits",
            "GET",
            f"/api/v1/executions/search?page={DIGITS}",
            None,
            "application/json",
            422,
            ["page"],
        ),
        (
            "a start of 5,000 digits",
            "PUT",
            "/api/v1/triggers",
            raw_backfill("start", DIGITS),
            "application/json",
            422,
            ["backfill.start"],
        ),
        (
            "a label value of 5,000 digits",
            "PUT",
            "/api/v1/triggers",
            raw_backfill("labels", f'{{"n": {DIGITS}}}'),
            "application/json",
            422,
            ["backfill.labels"],
        ),
        (
            "an INT input of 5,000 digits",
            "PUT",
            "/api/v1/triggers",
            typed_body(f'{{"count": {DIGITS}}}'),
            "application/json",
            422,
            ["backfill.inputs.count"],
        ),
        (
            "an INT input of 5,000 digits as text",
            "PUT",
            "/api/v1/triggers",
            typed_body(f'{{"count": "{DIGITS}"}}'),
            "application/json",
            422,
            ["backfill.inputs.count", "INT range"],
        ),
        (
            "an INT input past Kestra's int",
            "PUT",
            "/api/v1/triggers",
            typed_body('{"count": 2147483648}'),
            "application/json",
            422,
            ["backfill.inputs.count", "INT range"],
        ),
        (
            "a JSON input holding 5,000 digits",
            "PUT",
            "/api/v1/triggers",
            typed_body(f'{{"payload": {{"n": [{DIGITS}]}}}}'),
            "application/json",
            422,
            ["backfill.inputs.payload"],
        ),
        (
            "a JSON input holding 5,000 digits as text",
            "PUT",
            "/api/v1/triggers",
            typed_body(f'{{"payload": "[{DIGITS}]"}}'),
            "application/json",
            422,
            ["backfill.inputs.payload"],
        ),
        (
            "an INT input of 5,000 digits in a dry run",
            "POST",
            "/api/v1/backfills/dry-run",
            typed_body(f'{{"count": {DIGITS}}}'),
            "application/json",
            422,
            ["backfill.inputs.count"],
        ),
        (
            "a flow holding a number of 5,000 digits",
            "POST",
            "/api/v1/flows",
            flow_yaml(extra=f"description: {DIGITS}\n"),
            "application/x-yaml",
            422,
            ["number", "line 13"],
        ),
        (
            "a flow holding a base-60 number of 10,000 digits",
            "POST",
            "/api/v1/flows",
            flow_yaml(extra="x: " + ":".join(["59"] * 6000) + "\n"),
            "application/x-yaml",
            422,
            ["number", "digits"],
        ),
        (
            "a flow holding a 13th month",  # unquoted, YAML text as Kestra reads it: refused where it is a date
            "POST",
            "/api/v1/flows",
            flow_yaml(extra="inputs:\n  - id: day\n    type: DATETIME\n    defaults: 2024-13-45\n"),
            "application/x-yaml",
            422,
            ["inputs[day].defaults", "2024-13-45"],
        ),
        # Sizes: every value bounded, every answer under Lambda's 6 MB.
        (
            "an input value of 100 kB",
            "PUT",
            "/api/v1/triggers",
            {**trigger_body(inputs={"note": "x" * 100_000}), "flowId": "typed"},
            "application/json",
            422,
            ["backfill.inputs.note", "bytes"],
        ),
        (
            "an input default rendering to 5 MB",
            "PUT",
            "/api/v1/triggers",
            {**trigger_body(), "flowId": "padded"},
            "application/json",
            422,
            ["backfill.inputs.padding", "too large"],
        ),
        (
            "an input default rendering to 5 MB, in a dry run",
            "POST",
            "/api/v1/backfills/dry-run",
            {**trigger_body(), "flowId": "padded"},
            "application/json",
            422,
            ["backfill.inputs.padding", "too large"],
        ),
        (
            "a label key of 101 characters",
            "PUT",
            "/api/v1/triggers",
            trigger_body(labels={"k" * 101: "v"}),
            "application/json",
            422,
            ["backfill.labels", "100 characters"],
        ),
        (
            "a label value of 1,001 characters",
            "PUT",
            "/api/v1/triggers",
            trigger_body(labels={"k": "v" * 1001}),
            "application/json",
            422,
            ["backfill.labels", "1,000 characters"],
        ),
        (
            "100 labels of 400 quotes each",
            "PUT",
            "/api/v1/triggers",
            trigger_body(labels={f"k{n}": '"' * 400 for n in range(100)}),
            "application/json",
            422,
            ["backfill.labels", "bytes"],
        ),
        (
            "executions/search?size=10000",
            "GET",
            "/api/v1/executions/search?size=10000",
            None,
            "application/json",
            422,
            ["size"],
        ),
        ("backfills?size=10000", "GET", "/api/v1/backfills?size=10000", None, "application/json", 422, ["size"]),
        (
            "a slots page of 10,000",
            "GET",
            "/api/v1/backfills/nope/slots?size=10000",
            None,
            "application/json",
            422,
            ["size"],
        ),
        ("a logs page of 10,000", "GET", "/api/v1/logs/nope?size=10000", None, "application/json", 422, ["size"]),
        (
            "a logs page without its size",
            "GET",
            "/api/v1/logs/nope?page=2",
            None,
            "application/json",
            422,
            ["page", "size"],
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


@pytest.fixture
def hostile_stack(stack):
    """The seed flows, and flows with typed inputs and with a default that renders to 5 MB."""
    for source in (TYPED_FLOW, PADDED_FLOW):
        assert stack.call("POST", "/api/v1/flows", source, "application/x-yaml").status == 200
    return stack


@pytest.mark.parametrize(
    ("case", "method", "path", "body", "content_type", "status", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_hostile_input_is_refused_clearly_and_changes_nothing(
    hostile_stack, case, method, path, body, content_type, status, words
):
    stack = hostile_stack
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
