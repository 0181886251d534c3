"""Tenants: /api/v1/{tenant}/... for any tenant id of Kestra's pattern, /api/v1/... the default tenant (main).
A call under one tenant neither reads nor changes another's flows, triggers, backfills, executions, logs or files;
the live schedule ticks every tenant's flows; a tenant segment that is no tenant id is refused, naming it."""

from datetime import timedelta
from urllib.parse import quote

import pytest

from backfill_core.schedules.kestra_time import format_date, parse_instant
from local.lambda_runtime import LambdaContext
from tests.flows import QUICK, backfill_body, ref
from tests.harness import Harness

YAML = "application/x-yaml"
HOURS = ("2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z")  # 3 hourly slots
READER = """
id: reader
namespace: tests
tasks:
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: [count.txt]
    commands:
      - printf 42 > count.txt
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "count is {{ read(outputs.write.outputFiles['count.txt']) }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


@pytest.fixture
def stack(aws):
    """The handlers against moto, with no example flows."""
    return Harness(aws)


def under(tenant: str | None) -> str:
    """The API's root for a tenant; None: the form without a tenant segment (main)."""
    return "/api/v1" if tenant is None else f"/api/v1/{tenant}"


def executions_of(stack, root: str) -> list[dict]:
    answer = stack.call("GET", f"{root}/executions/search?namespace=tests&size=100")
    assert answer.status == 200, answer.raw
    return answer.body["results"]


@pytest.mark.parametrize(
    ("owner", "outsider"),
    [("acme", None), ("acme", "main"), ("acme", "other"), (None, "acme"), ("main", "acme")],
)
def test_a_tenants_flow_backfill_and_executions_are_invisible_and_unchangeable_from_another(stack, owner, outsider):
    mine, theirs = under(owner), under(outsider)
    assert stack.call("POST", f"{mine}/flows", QUICK, YAML).status == 200
    created = stack.call("PUT", f"{mine}/triggers", backfill_body("quick", *HOURS))
    assert created.status == 200, created.raw
    assert created.body["tenantId"] == (owner or "main")
    backfill_id = created.body["backfill"]["id"]
    changed = QUICK.replace("0 * * * *", "30 * * * *")

    # Nothing of it is found from the other tenant...
    for method, path, body in [
        ("GET", "/flows/tests/quick", None),
        ("PUT", "/flows/tests/quick", changed),
        ("DELETE", "/flows/tests/quick", None),
        ("PUT", "/triggers/backfill/pause", ref("quick")),
        ("PUT", "/triggers/backfill/unpause", ref("quick")),
        ("POST", "/triggers/backfill/delete", ref("quick")),
        ("PUT", "/triggers", {**ref("quick"), "disabled": True}),
        ("GET", f"/backfills/{backfill_id}", None),
        ("GET", f"/backfills/{backfill_id}/slots?size=10", None),
        ("PATCH", f"/backfills/{backfill_id}", {"paused": True}),
        ("POST", f"/backfills/{backfill_id}/cancel", {}),
    ]:
        content_type = YAML if isinstance(body, str) else "application/json"
        answer = stack.call(method, theirs + path, body, content_type)
        assert answer.status == 404, (method, path, answer.raw)
    assert stack.call("GET", f"{theirs}/flows/tests").body == []
    assert stack.call("GET", f"{theirs}/triggers/search?namespace=tests").body == {"results": [], "total": 0}
    assert stack.call("GET", f"{theirs}/backfills").body["results"] == []
    for action in ("pause", "delete"):
        by_triggers = stack.call("POST", f"{theirs}/triggers/backfill/{action}/by-triggers", [ref("quick")])
        assert by_triggers.body == {"count": 0, "totalItems": 0}, by_triggers.raw
        by_query = stack.call("POST", f"{theirs}/triggers/backfill/{action}/by-query?namespace=tests")
        assert by_query.body == {"count": 0, "totalItems": 0}, by_query.raw

    # ...nor does the same flow registered there meet the owner's.
    assert stack.call("POST", f"{theirs}/flows", QUICK, YAML).status == 200
    assert stack.call("GET", f"{theirs}/backfills").body["results"] == []

    stack.drain()
    owners = executions_of(stack, mine)
    assert len(owners) == 3 and {e["tenantId"] for e in owners} == {owner or "main"}
    assert all(e["state"]["current"] == "SUCCESS" for e in owners)
    assert executions_of(stack, theirs) == []
    one = owners[0]["id"]
    for method, path in [
        ("GET", f"/executions/{one}"),
        ("GET", f"/logs/{one}"),
        ("DELETE", f"/executions/{one}/kill"),
        ("GET", f"/executions/{one}/file?path={quote(f'kestra:///tests/quick/executions/{one}/x.txt')}"),
    ]:
        answer = stack.call(method, theirs + path)
        assert answer.status == 404 and f"Execution not found: {one}" in answer.message, (method, path, answer.raw)

    # The owner's flow, trigger and backfill are as it left them.
    assert stack.call("GET", f"{mine}/flows/tests/quick").body["revision"] == 1
    assert stack.call("GET", f"{mine}/backfills/{backfill_id}").body["status"] == "SUCCEEDED"
    assert stack.call("GET", f"{mine}/logs/{one}").status == 200
    triggers = stack.call("GET", f"{mine}/triggers/search?namespace=tests").body["results"]
    assert [t["triggerContext"]["disabled"] for t in triggers] == [False]


def test_a_tenants_execution_reads_and_serves_its_own_files(stack):
    assert stack.call("POST", "/api/v1/acme/flows", READER, YAML).status == 200
    body = backfill_body("reader", HOURS[0], HOURS[0])
    assert stack.call("PUT", "/api/v1/acme/triggers", body).status == 200
    stack.drain()
    (execution,) = executions_of(stack, "/api/v1/acme")
    logs = [line["message"] for line in stack.call("GET", f"/api/v1/acme/logs/{execution['id']}").body]
    assert execution["state"]["current"] == "SUCCESS", logs
    assert "count is 42" in logs  # read() found the file under the execution's tenant
    uri = next(run for run in execution["taskRunList"] if run["taskId"] == "write")["outputs"]["outputFiles"]
    route = f"/executions/{execution['id']}/file?path={quote(uri['count.txt'])}"
    assert stack.call("GET", "/api/v1/acme" + route).status == 200
    assert stack.call("GET", "/api/v1" + route).status == 404
    assert stack.call("GET", "/api/v1/other" + route).status == 404


def test_the_live_schedule_ticks_every_tenants_flows(stack):
    every_minute = QUICK.replace("0 * * * *", "* * * * *").replace("id: every_hour", "id: cron")
    registered = {}
    for tenant in ("acme", "main"):
        answer = stack.call("POST", f"/api/v1/{tenant}/flows", every_minute, YAML)
        assert answer.status == 200, answer.raw
        registered[tenant] = parse_instant(answer.body["updated"])
    first = max(registered.values()).replace(second=0, microsecond=0) + timedelta(minutes=1)
    for minute in range(3):
        event = {"scheduledTime": format_date(first + timedelta(minutes=minute))}
        stack.scheduler_module.lambda_handler(event, LambdaContext("SchedulerFunction", 60))
    stack.drain()
    for tenant in ("acme", "main"):
        ran = executions_of(stack, f"/api/v1/{tenant}")
        assert len(ran) == 3 and {e["tenantId"] for e in ran} == {tenant}, ran
    assert executions_of(stack, "/api/v1/other") == []


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/api/v1/Acme/flows/tests", "'Acme' is not a tenant id"),
        ("/api/v1/acme.corp/flows/tests", "'acme.corp' is not a tenant id"),
        ("/api/v1/-acme/executions/search", "'-acme' is not a tenant id"),
        (f"/api/v1/{'a' * 151}/flows/tests", "is not a tenant id"),
        ("/api/v1/flows/executions/search", "'flows' is the name of a route, not a tenant id"),
        ("/api/v1/triggers/triggers/search", "'triggers' is the name of a route"),
    ],
)
def test_a_tenant_segment_that_is_no_tenant_id_is_refused_naming_it(stack, path, named):
    answer = stack.call("GET", path)
    assert answer.status == 422, answer.raw
    assert answer.message.startswith("tenant: ") and named in answer.message


def test_a_namespace_named_like_a_route_is_reached_with_the_tenant_given(stack):
    flow = QUICK.replace("namespace: tests", "namespace: executions")
    assert stack.call("POST", "/api/v1/flows", flow, YAML).status == 200
    refused = stack.call("GET", "/api/v1/flows/executions/quick")
    assert refused.status == 422 and "/api/v1/main/flows/executions/quick" in refused.message
    assert stack.call("GET", "/api/v1/main/flows/executions/quick").body["namespace"] == "executions"


def test_every_route_root_is_one_the_tenant_segment_knows(stack):
    """A new route root that tenants.ROUTE_ROOTS lacks would not be found under /api/v1/{tenant}/."""
    document = stack.call("GET", "/api/v1/acme/openapi.json").body
    roots = {path.split("/")[1] for path in document["paths"]}
    assert roots <= set(stack.api_module.tenants.ROUTE_ROOTS)
    assert "/api/v1/{tenant}" in [s["url"] for s in document["servers"]]
