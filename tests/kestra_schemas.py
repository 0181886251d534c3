"""Kestra's published OpenAPI documents (../shared/kestra-openapi, 1.3 and 2.0), to check an answer against the
schema Kestra declares for the same route: what Kestra's generated clients (kestrapy) parse."""

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator

DOCUMENTS = Path(__file__).resolve().parents[2] / "shared" / "kestra-openapi"
VERSIONS = ("1.3", "2.0")


# Java's Unicode classes in Kestra's patterns (a label key's, a tenant id's), which Python's re lacks: their ASCII
# part, inside a character class as Kestra uses the first two and alone as it uses the others.
JAVA_CLASSES = {r"\p{Ll}": "a-z", r"\p{L}": "a-zA-Z", r"\p{Alpha}": "[a-zA-Z]", r"\p{Alnum}": "[a-zA-Z0-9]"}


def _python_patterns(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _python_pattern(value) if key == "pattern" else _python_patterns(value) for key, value in node.items()
        }
    if isinstance(node, list):
        return [_python_patterns(value) for value in node]
    return node


def _python_pattern(pattern: Any) -> Any:
    if isinstance(pattern, str):
        for java, python in JAVA_CLASSES.items():
            pattern = pattern.replace(java, python)
    return pattern


@cache
def document(version: str) -> dict[str, Any]:
    loaded = yaml.load((DOCUMENTS / f"kestra-{version}.yml").read_text(), Loader=yaml.CSafeLoader)  # 10x faster
    return _python_patterns(loaded)


def spec_artifact(version: str, error: Any) -> bool:
    """Two places where Kestra 2.0's document says what neither its server nor its SDK does, as kestrapy 2.0.3's
    own models show: a trigger's `when` is required there, yet the server leaves it out when unset (the SDK reads
    it as optional); a flow's `labels` is there a map only, yet the server writes a list of {key, value} (the
    SDK reads List[Label])."""
    if version != "2.0":
        return False
    when_required = error.validator == "required" and error.message == "'when' is a required property"
    labels_list = error.validator == "oneOf" and list(error.absolute_path)[-1:] == ["labels"]
    return when_required or labels_list


def problems(version: str, body: Any, schema_name: str) -> list[str]:
    """Where the body breaks Kestra's schema of that name (empty: it validates), but for its spec artifacts."""
    return schema_problems(version, body, {"$ref": f"#/components/schemas/{schema_name}"})


def schema_problems(version: str, body: Any, schema: dict[str, Any]) -> list[str]:
    """Where the body breaks that schema of Kestra's document (empty: it validates), but for its spec artifacts."""
    schema = {**schema, "components": document(version)["components"]}
    validator = OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)
    errors = [e for e in validator.iter_errors(body) if not spec_artifact(version, e)]
    return [f"{list(e.absolute_path)}: {e.message}"[:300] for e in errors]
