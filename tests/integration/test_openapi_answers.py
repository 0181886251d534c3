"""Every route the API declares, driven to real answers (successes and the errors cheap to provoke), each body
checked against the schema the OpenAPI document declares for that route and status: a client generated from the
document (Kestra's SDKs are) reads every answer it can get."""

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

import boto3
from openapi_schema_validator import OAS31Validator

from backfill_core.settings import settings
from tests.flows import QUICK, backfill_body, ref
from tests.harness import Answer, Harness, store_bypassing_validation
from tests.integration.test_openapi import declared_routes
from tests.kestra_routes import twins
from tests.kestra_schemas import schema_problems

YAML = "application/x-yaml"
MISSING = "0000000000000000000000"  # an id of the right shape that names nothing


@dataclass
class Exchange:
    method: str
    route: str  # the declared path, in OpenAPI's {param} form
    answer: Answer


@dataclass
class Client:
    """Calls /api/v1 routes, checking each status as it goes, and keeps every exchange for the schema check."""

    stack: Harness
    routes: set[tuple[str, str]]
    exchanges: list[Exchange] = field(default_factory=list)

    def call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json", expect: int = 200
    ) -> Answer:
        answer = self.stack.call(method, f"/api/v1{path}", body, content_type)
        assert answer.status == expect, (method, path, answer.raw[:500])
        self.exchanges.append(Exchange(method, self.route_of(method, path), answer))
        return answer

    def route_of(self, method: str, path: str) -> str:
        """The declared route the path matches; a literal segment wins over a parameter (/executions/search)."""
        bare = path.partition("?")[0]
        matching = [
            route
            for verb, route in self.routes
            if verb == method.lower() and re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", route), bare)
        ]
        assert matching, f"no declared route for {method} {path}"
        return min(matching, key=lambda route: route.count("{"))


# Kestra's routes that answer only an error here, each for a reason the README gives: no trigger is ever locked.
NEVER_SUCCEED = {("post", "/triggers/{namespace}/{flow_id}/{trigger_id}/unlock")}


def drive_every_route(stack: Harness, api: Client) -> None:
    # Flows, one of them stored before today's validator and refused by it.
    api.call("POST", "/flows", QUICK, YAML)
    api.call("POST", "/flows", QUICK, YAML, expect=422)  # Kestra: the id exists
    api.call("POST", "/flows", "", YAML, expect=422)
    api.call("PUT", "/flows/tests/quick", QUICK, YAML)
    api.call("PUT", "/flows/tests/absent", QUICK.replace("id: quick", "id: absent"), YAML, expect=404)
    api.call("PUT", "/flows/tests/quick", QUICK.replace("id: quick", "id: other"), YAML, expect=422)
    store_bypassing_validation(stack, "stale", "tasks: []\n")
    api.call("GET", "/flows/tests/quick")
    verdicts = api.call(
        "POST", "/flows/validate", QUICK + "\n---\n" + QUICK.replace("tasks:", "retry: {}\ntasks:"), YAML
    )
    assert ["constraints" in v for v in verdicts.body] == [False, True]
    api.call("POST", "/flows/validate", "", YAML, expect=422)
    assert "exception" in api.call("GET", "/flows/tests/stale").body
    api.call("GET", "/flows/tests/absent", expect=404)
    assert len(api.call("GET", "/flows/tests").body) == 2
    api.call("GET", "/flows/tests?page=1&size=1")
    api.call("GET", "/flows/tests?page=1", expect=422)
    assert api.call("GET", "/flows/search?namespace=tests&sort=id:desc").body["total"] == 2
    assert api.call("GET", "/flows/search?filters[namespace][EQUALS]=tests").body["total"] == 2
    api.call("GET", "/flows/search?filters[state][EQUALS]=SUCCESS", expect=422)
    assert "tests" in api.call("GET", "/flows/distinct-namespaces").body
    assert len(api.call("GET", "/flows/tests/quick/revisions").body) == 1
    api.call("GET", "/flows/tests/absent/revisions", expect=404)

    # A backfill through Kestra's trigger routes, run to its end.
    first = backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z", labels={"team": "data"})
    first_id = api.call("PUT", "/triggers", first).body["backfill"]["id"]
    api.call("PUT", "/triggers", first, expect=409)
    api.call("PUT", "/triggers", {**first, "flowId": "absent"}, expect=404)
    api.call("PUT", "/triggers", {**first, "backfill": {"start": "someday"}}, expect=422)
    api.call("PUT", "/triggers/backfill/pause", ref("quick"))
    api.call("PUT", "/triggers/backfill/unpause", ref("quick"))
    api.call("PUT", "/triggers/backfill/unpause", {"namespace": "tests"}, expect=422)
    api.call(
        "PUT", "/triggers/backfill/pause", json.dumps(ref("quick")), "application/x-www-form-urlencoded", expect=415
    )
    api.call("PUT", "/triggers", "x" * (settings().max_body_bytes + 1), expect=413)
    assert api.call("GET", "/triggers/search?namespace=tests").body["results"][0]["triggerContext"]["backfill"]
    api.call("GET", "/triggers/search?size=0", expect=422)
    stack.drain()
    api.call("PUT", "/triggers/backfill/pause", ref("quick"), expect=400)  # it ended: no backfill to pause
    api.call("PUT", "/triggers/backfill/unpause", ref("quick"), expect=400)
    api.call("POST", "/triggers/backfill/delete", ref("quick"), expect=400)
    api.call("POST", "/triggers/backfill/delete", {"flowId": "quick"}, expect=422)
    api.call("POST", "/triggers/backfill/pause/by-triggers", [ref("quick")])
    api.call("POST", "/triggers/backfill/stop/by-triggers", [ref("quick")], expect=404)
    api.call("POST", "/triggers/backfill/pause/by-triggers", {"not": "a list"}, expect=422)
    api.call("POST", "/triggers/backfill/unpause/by-query?namespace=tests")
    api.call("POST", "/triggers/backfill/stop/by-query", expect=404)

    # Kestra's trigger commands, and 2.0's backfill create.
    assert api.call("GET", "/triggers/tests/quick?sort=triggerId:asc").body["total"] == 1
    api.call("GET", "/triggers/tests/quick?sort=cron", expect=422)
    created = backfill_body("quick", "2024-02-01T00:00:00Z", "2024-02-01T00:00:00Z")
    assert api.call("PUT", "/triggers/backfill/create", created).body["backfill"]
    api.call("PUT", "/triggers/backfill/create", created, expect=409)
    api.call("PUT", "/triggers/set-disabled", {**ref("quick"), "disabled": True})
    api.call("PUT", "/triggers/set-disabled", {**ref("absent"), "disabled": True}, expect=404)
    api.call("POST", "/triggers/set-disabled/by-triggers", {"triggers": [ref("quick")], "disabled": False})
    api.call("POST", "/triggers/set-disabled/by-query?namespace=tests&disabled=false")
    api.call("POST", "/triggers/tests/quick/every_hour/restart")
    api.call("POST", "/triggers/tests/quick/absent/restart", expect=404)
    api.call("POST", "/triggers/tests/quick/every_hour/unlock", expect=409)
    api.call("POST", "/triggers/unlock/by-triggers", [ref("quick")])
    api.call("POST", "/triggers/unlock/by-query?namespace=tests")
    api.call("DELETE", "/triggers/tests/quick/every_hour", expect=204)
    api.call("DELETE", "/triggers/tests/quick/absent", expect=404)
    api.call("DELETE", "/triggers/delete/by-triggers", [ref("quick")])
    api.call("DELETE", "/triggers/delete/by-query?namespace=nothing")
    api.call("DELETE", "/triggers/delete/by-query?filters[namespace][EQUALS]=nothing")
    stack.drain()

    # Our backfill resource.
    api.call("GET", "/backfills?namespace=tests")
    api.call("GET", "/backfills?size=0", expect=422)
    api.call("GET", f"/backfills/{first_id}")
    api.call("GET", f"/backfills/{MISSING}", expect=404)
    api.call("GET", f"/backfills/{first_id}/slots")
    api.call("GET", f"/backfills/{first_id}/slots?size=0", expect=422)
    api.call("GET", f"/backfills/{MISSING}/slots", expect=404)
    assert api.call("POST", f"/backfills/{first_id}/retry-failed").body["retried"] == 0
    api.call("POST", f"/backfills/{MISSING}/retry-failed", expect=404)
    again = backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z", reprocess="missing")
    assert api.call("POST", "/backfills/dry-run", again).body["skippedPage"]
    api.call("POST", "/backfills/dry-run", {**again, "flowId": "absent"}, expect=404)
    api.call("POST", "/backfills/dry-run", ref("quick"), expect=422)
    second = backfill_body("quick", "2024-01-02T00:00:00Z", "2024-01-02T03:00:00Z")
    second_id = api.call("PUT", "/triggers", second).body["backfill"]["id"]
    api.call("PATCH", f"/backfills/{second_id}", {"concurrency": 2, "paused": True})
    api.call("PATCH", f"/backfills/{second_id}", {}, expect=422)
    api.call("PATCH", f"/backfills/{MISSING}", {"paused": False}, expect=404)
    api.call("POST", f"/backfills/{second_id}/cancel", {"kill": True})
    api.call("POST", f"/backfills/{second_id}/cancel", expect=409)
    api.call("POST", f"/backfills/{second_id}/retry-failed", expect=409)
    api.call("POST", f"/backfills/{MISSING}/cancel", expect=404)
    third = backfill_body("quick", "2024-01-03T00:00:00Z", "2024-01-03T00:00:00Z")
    api.call("PUT", "/triggers", third)
    api.call("POST", "/triggers/backfill/delete", ref("quick"))
    stack.drain()

    # Kestra's executions and logs.
    execution_id = api.call("GET", "/executions/search?namespace=tests&flowId=quick").body["results"][0]["id"]
    api.call("GET", "/executions/search?state=BOGUS", expect=422)
    api.call("GET", f"/executions/{execution_id}")
    api.call("GET", f"/executions/{MISSING}", expect=404)
    assert api.call("GET", f"/logs/{execution_id}").body
    api.call("GET", f"/logs/{execution_id}?page=1&size=1")
    api.call("GET", f"/logs/{MISSING}", expect=404)
    uri = f"kestra:///tests/quick/executions/{execution_id}/tasks/t/r/day.txt"
    boto3.client("s3").put_object(Bucket=settings().execution_files_bucket, Key=f"files/main{uri[9:]}", Body=b"day")
    api.call("GET", f"/executions/{execution_id}/file?path={uri}")
    api.call("GET", f"/executions/{execution_id}/file?path={uri.replace(execution_id, MISSING)}", expect=404)
    api.call("GET", f"/executions/{execution_id}/file?path=s3://bucket/key", expect=422)
    api.call("DELETE", f"/executions/{execution_id}/kill", expect=202)
    api.call("DELETE", f"/executions/{MISSING}/kill", expect=404)
    api.call("GET", "/executions/search?flowId=quick&q=quick&sort=id:asc&startDate=2024-01-01T00:00:00Z")
    api.call("GET", "/executions/search?sort=colour:asc", expect=422)

    # Runs by hand: created, killed, replayed, restarted, followed and deleted; the log routes.
    api.call("POST", "/flows", QUICK.replace("id: quick", "id: broken").replace("slot {{", "{{ nothing }} {{"), YAML)
    killed = api.call("POST", "/executions/tests/quick?labels=by:hand").body["id"]
    api.call("DELETE", f"/executions/{killed}/actions/kill")
    api.call("DELETE", f"/executions/{killed}", expect=409)
    broken = api.call("POST", "/executions/tests/broken", {}).body["id"]
    api.call("POST", "/executions/tests/absent", expect=404)
    api.call("POST", "/executions/tests/quick?wait=true", expect=422)
    api.call("POST", f"/executions/{broken}/restart", expect=409)  # not ended yet
    stack.drain()
    api.call("DELETE", f"/executions/{killed}/actions/kill", expect=409)
    api.call("DELETE", f"/executions/{MISSING}/actions/kill", expect=404)
    api.call("GET", f"/executions/{killed}/follow")
    api.call("GET", f"/executions/{MISSING}/follow", expect=404)
    api.call("POST", f"/executions/{killed}/replay")
    api.call("POST", f"/executions/{killed}/actions/replay")
    api.call("POST", f"/executions/{MISSING}/replay", expect=404)
    api.call("POST", f"/executions/{killed}/restart", expect=422)  # no task run failed
    api.call("POST", f"/executions/{broken}/restart")
    stack.drain()
    api.call("POST", f"/executions/{broken}/actions/restart")
    stack.drain()
    api.call("GET", f"/logs/{broken}?minLevel=ERROR&taskId=say")
    api.call("GET", f"/logs/{broken}?minLevel=LOUD", expect=422)
    api.call("GET", f"/logs/{broken}/download?minLevel=INFO")
    api.call("GET", f"/logs/{MISSING}/download", expect=404)
    api.call("GET", "/logs/search?namespace=tests&minLevel=INFO&sort=timestamp:asc")
    api.call("GET", "/logs/search?sort=colour:asc", expect=422)
    api.call("GET", "/logs/search?filters[level][EQUALS]=INFO&filters[namespace][PREFIX]=tests")
    api.call("GET", "/logs/search?filters[labels][EQUALS][team]=data", expect=422)
    api.call("DELETE", f"/executions/{killed}", expect=204)
    api.call("DELETE", f"/executions/{killed}", expect=404)

    api.call("DELETE", "/flows/tests/quick", expect=204)
    api.call("DELETE", "/flows/tests/quick", expect=404)


def closed(components: dict[str, Any]) -> dict[str, Any]:
    """The document's schemas with every object closed to the properties it names, unless it says otherwise
    (a flow's own YAML keys): an answer's field the document does not describe fails the check."""
    schemas = copy.deepcopy(components)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schemas)
    return schemas


def test_every_answer_of_every_route_is_described_by_the_openapi_document(stack, set_setting):
    document = stack.call("GET", "/api/v1/openapi.json").body
    components = closed(document["components"])
    api = Client(stack, declared_routes())
    drive_every_route(stack, api)
    stack.resources.create_api_token_secret(boto3.client("secretsmanager"), "token")
    set_setting("API_TOKEN_SECRET", stack.resources.function_environment("ApiFunction")["API_TOKEN_SECRET"])
    api.call("GET", "/triggers/search", expect=401)

    for exchange in api.exchanges:
        status = str(int(exchange.answer.status))
        where = (exchange.method, exchange.route, status)
        declared = document["paths"][exchange.route][exchange.method.lower()]["responses"]
        assert status in declared, f"{where}: the document does not declare this status"
        content = declared[status].get("content") or {}
        if exchange.answer.raw == "":
            assert not content, f"{where}: an empty answer is documented with content {content}"
            continue
        if "application/octet-stream" in content or "text/plain" in content:
            continue  # a file's bytes, a text: any bytes are a file, any text a text
        bodies = [exchange.answer.body]
        schema = content.get("application/json", {}).get("schema")
        if "text/event-stream" in content:  # server-sent events: each event's data
            schema = content["text/event-stream"]["schema"]
            bodies = [json.loads(line[6:]) for line in exchange.answer.raw.splitlines() if line.startswith("data: ")]
            assert bodies, f"{where}: no event in {exchange.answer.raw[:300]}"
        assert schema, f"{where}: the document has no schema for this answer"
        validator = OAS31Validator({**schema, "components": components}, format_checker=OAS31Validator.FORMAT_CHECKER)
        problems = [f"{list(e.absolute_path)}: {e.message}" for body in bodies for e in validator.iter_errors(body)]
        assert not problems, f"{where}: {problems[:5]} in {exchange.answer.raw[:300]}"

    succeeded = {(e.method.lower(), e.route) for e in api.exchanges if 200 <= e.answer.status < 300}
    succeeded |= NEVER_SUCCEED
    assert succeeded == api.routes, f"routes never answered with a success: {api.routes - succeeded}"
    assert_kestra_reads_every_answer(api.exchanges)


# Our success statuses that one of Kestra's documents does not declare, and why.
OTHER_STATUS = {
    ("1.3", "delete", "/triggers/{namespace}/{flow_id}/{trigger_id}"): "204, as Kestra 2.0 declares (1.3: 200 {})",
}


def valid_flows_only(body: Any) -> Any:
    """The answer without its stored flows that no longer validate: Kestra too answers those as its
    FlowWithException (the document, and why in `exception`), which its document does not describe."""
    if isinstance(body, dict) and "exception" in body:
        return None
    if isinstance(body, list):
        return [item for item in body if not (isinstance(item, dict) and "exception" in item)]
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return {**body, "results": valid_flows_only(body["results"])}
    return body


def assert_kestra_reads_every_answer(exchanges: list[Exchange]) -> None:
    """Each answer of a route Kestra also has validates against the schema Kestra's document (1.3 and 2.0)
    declares for it, as Kestra's generated clients read it; and each such route answered one success Kestra's
    schema describes."""
    broken = []
    for exchange in exchanges:
        body = valid_flows_only(exchange.answer.body)
        if body is None:  # empty, no JSON (a file, a text, events), or a flow that no longer validates
            continue
        for operation in twins(exchange.method, exchange.route):
            schema = operation.json_schema(exchange.answer.status)
            if schema is None:
                continue
            found = schema_problems(operation.version, body, schema)
            if found:
                broken.append(
                    f"{operation.version} {exchange.method} {exchange.route} {exchange.answer.status}: {found[:3]}"
                )
    assert not broken, "\n".join(broken)
    successes = {(e.method.lower(), e.route, e.answer.status) for e in exchanges if 200 <= e.answer.status < 300}
    undeclared = sorted(
        f"{operation.version} {method.upper()} {route}: {status}, Kestra declares {sorted(operation.responses)}"
        for method, route, status in successes
        for operation in twins(method, route)
        if str(status) not in operation.responses and (operation.version, method, route) not in OTHER_STATUS
    )
    assert not undeclared, f"successes with a status Kestra's document does not declare: {undeclared}"


def test_a_namespace_holding_a_flow_with_a_yaml_date_is_listed(stack):
    """Was: GET /flows/{namespace} failed (a TypeError, API Gateway's 502) when a flow's YAML held an unquoted
    date: the list's size was counted on the date as YAML reads it, which JSON cannot write. The list answers
    the flow as its own route does, the date as text."""
    dated = QUICK.replace(
        "namespace: tests\n",
        "namespace: tests\ninputs:\n  - id: since\n    type: DATETIME\n    defaults: 2024-01-01T00:00:00Z\n",
    )
    assert stack.call("POST", "/api/v1/flows", dated, YAML).status == 200
    alone = stack.call("GET", "/api/v1/flows/tests/quick")
    listed = stack.call("GET", "/api/v1/flows/tests")
    assert listed.status == 200, listed.raw[:300]
    assert listed.body == [alone.body]
    assert alone.body["inputs"][0]["defaults"] == "2024-01-01T00:00:00Z"  # as written: Kestra keeps it as text
