"""GET /api/v1/openapi.json describes every route, and the Swagger UI is served without any CDN."""

import re
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "functions" / "api" / "app.py"


def declared_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the API handler declares, in OpenAPI's {param} form."""
    found = re.findall(r'@app\.(get|put|post|patch|delete)\("([^"]+)"', APP.read_text())
    return {(method, re.sub(r"<(\w+)>", r"{\1}", path)) for method, path in found if path != "/openapi.json"}


def test_the_document_covers_every_route(stack):
    answer = stack.call("GET", "/api/v1/openapi.json")
    assert answer.status == 200, answer.raw
    document = answer.body
    assert document["openapi"].startswith("3.")
    assert [s["url"] for s in document["servers"]] == ["/api/v1", "/api/v1/main"]
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
