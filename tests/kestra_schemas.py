"""Kestra's published OpenAPI documents (../shared/kestra-openapi, 1.3 and 2.0), to check an answer against the
schema Kestra declares for the same route: what Kestra's generated clients (kestrapy) parse."""

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator

DOCUMENTS = Path(__file__).resolve().parents[2] / "shared" / "kestra-openapi"
VERSIONS = ("1.3", "2.0")


@cache
def document(version: str) -> dict[str, Any]:
    return yaml.load((DOCUMENTS / f"kestra-{version}.yml").read_text(), Loader=yaml.CSafeLoader)  # 10x faster


def problems(version: str, body: Any, schema_name: str) -> list[str]:
    """Where the body breaks Kestra's schema of that name (empty: it validates)."""
    components = document(version)["components"]
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    validator = OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}"[:300] for e in validator.iter_errors(body)]
