"""Kestra's routes, from its published OpenAPI documents (../shared/kestra-openapi, 1.3 and 2.0), beside ours:
which of our routes answers which of Kestra's, and the schema Kestra declares for that answer."""

import re
from dataclasses import dataclass
from typing import Any

from tests.kestra_schemas import VERSIONS, document

METHODS = ("get", "put", "post", "patch", "delete")
# Our path parameters that stand for one of a few of Kestra's literal segments (routes/triggers.BULK_ACTIONS).
LITERAL_PARAMETERS = {"action": ("pause", "unpause", "delete")}


@dataclass(frozen=True)
class KestraOperation:
    version: str
    method: str
    path: str  # as Kestra's document writes it, e.g. /api/v1/{tenant}/executions/{executionId}
    tag: str
    responses: Any

    @property
    def route(self) -> str:
        """The path below /api/v1 and the tenant, as our routes are declared."""
        return re.sub(r"^/api/v1(/\{tenant\})?", "", self.path)

    def json_schema(self, status: int) -> dict[str, Any] | None:
        """The schema Kestra declares for a JSON answer of that status, if any."""
        content = (self.responses.get(str(status)) or {}).get("content") or {}
        for media in ("application/json", "text/json"):
            if media in content and content[media].get("schema"):
                return content[media]["schema"]
        return None


def kestra_operations(version: str) -> list[KestraOperation]:
    return [
        KestraOperation(version, method, path, (operation.get("tags") or ["-"])[0], operation.get("responses") or {})
        for path, item in document(version)["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _segments_match(ours: str, kestras: str) -> bool:
    our_parts, kestra_parts = ours.strip("/").split("/"), kestras.strip("/").split("/")
    if len(our_parts) != len(kestra_parts):
        return False
    for our, kestra in zip(our_parts, kestra_parts, strict=True):
        our_parameter = re.fullmatch(r"\{(\w+)\}", our)
        if kestra.startswith("{"):
            if not our_parameter:
                return False
        elif our_parameter:
            if kestra not in LITERAL_PARAMETERS.get(our_parameter.group(1), ()):
                return False
        elif our != kestra:
            return False
    return True


def twins(method: str, our_route: str) -> list[KestraOperation]:
    """Kestra's operations, in each version, that our route answers (a route of ours taking a parameter where
    Kestra has a literal segment answers only that literal's values)."""
    return [
        operation
        for version in VERSIONS
        for operation in kestra_operations(version)
        if operation.method == method.lower() and _segments_match(our_route, operation.route)
    ]
