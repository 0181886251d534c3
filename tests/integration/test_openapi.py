"""GET /api/v1/openapi.json describes every route, and the Swagger UI is served without any CDN."""

import re
from pathlib import Path

API = Path(__file__).resolve().parents[2] / "functions" / "api"


def declared_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the API handler declares, in OpenAPI's {param} form."""
    source = "\n".join(module.read_text() for module in sorted(API.rglob("*.py")))
    found = re.findall(r'@(?:app|router)\.(get|put|post|patch|delete)\(\s*"([^"]+)"', source)
    return {(method, re.sub(r"<(\w+)>", r"{\1}", path)) for method, path in found if path != "/openapi.json"}


def test_the_document_covers_every_route(stack):
    answer = stack.call("GET", "/api/v1/openapi.json")
    assert answer.status == 200, answer.raw
    document = answer.body
    assert document["openapi"].startswith("3.")
    assert [s["url"] for s in document["servers"]] == ["/api/v1", "/api/v1/main", "/api/v1/{tenant}"]
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    assert declared_routes() <= described
    body = document["paths"]["/triggers"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("TriggerUpdate")
    assert "BackfillRequest" in document["components"]["schemas"]


def test_swagger_ui_is_served_from_the_package(stack):
    page = stack.call("GET", "/api/v1/swagger")
    assert page.status == 200
    assert "swagger" in page.raw.lower()
    assert "cdn" not in page.raw.lower() and "unpkg" not in page.raw.lower()


def test_every_route_describes_its_errors_as_a_message(stack):
    document = stack.call("GET", "/api/v1/openapi.json").body
    assert document["components"]["schemas"]["ErrorMessage"]["required"] == ["message", "_links"]
    for method, path in declared_routes():
        answers = document["paths"][path][method]["responses"]
        successes = [code for code in answers if code.startswith("2")]
        assert len(successes) == 1, (method, path, answers)
        for code, answer in answers.items():
            if code.startswith("4"):
                schema = answer["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith("/ErrorMessage"), (method, path, code)
    put_trigger = document["paths"]["/triggers"]["put"]["responses"]
    assert {"400", "404", "409", "422"} <= set(put_trigger)
    assert "409" in document["paths"]["/backfills/{backfill_id}/retry-failed"]["post"]["responses"]


def test_the_document_warns_that_labels_and_inputs_reaching_a_shell_are_refused_and_names_env(stack):
    schemas = stack.call("GET", "/api/v1/openapi.json").body["components"]["schemas"]
    backfill = schemas["BackfillRequest"]["properties"]

    for field in ("labels", "inputs"):
        assert "Shell warning" in backfill[field]["description"]
        assert "`env`" in backfill[field]["description"]
