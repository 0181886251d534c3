"""Kestra's flow validation without storing: each YAML document of a body checked as registration checks it."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from backfill_core.errors import Invalid
from backfill_core.flows.budget import over_budget
from backfill_core.flows.model import Flow, parse_flow
from backfill_core.flows.plugin_defaults import with_plugin_defaults
from backfill_core.flows.yaml_text import load_yaml
from backfill_core.settings import settings

DOCUMENT_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class FlowCheck:
    """One document's verdict: what registration would refuse, or None when it would register it."""

    index: int
    flow_id: str | None
    namespace: str | None
    problem: str | None


def _named(source: str) -> tuple[str | None, str | None]:
    """The document's id and namespace as written, for a verdict on a document that does not validate."""
    try:
        document = load_yaml(source)
    except (RecursionError, ValueError):  # ValueError: YamlProblem too
        return None, None
    if not isinstance(document, dict):
        return None, None
    found = (document.get("id"), document.get("namespace"))
    return tuple(value if isinstance(value, str) else None for value in found)  # type: ignore[return-value]


def registered_flow(source: str) -> Flow:
    """A flow as registration takes it: parsed and validated, and within what this deployment can run (its
    settings, which a stored flow read back later is not held to)."""
    flow = parse_flow(source)
    refused = over_budget(with_plugin_defaults(load_yaml(source)), settings().task_timeout_seconds)
    if refused:
        raise Invalid("; ".join(refused))
    return flow


def check_sources(text: str, registered_check: Callable[[Flow], None] = lambda flow: None) -> list[FlowCheck]:
    """Each document's verdict; `registered_check` adds what registration checks against the stored flows (a
    chain of subflows back to the flow)."""
    checks = []
    documents = [part for part in DOCUMENT_SEPARATOR.split(text) if part.strip()]
    for index, source in enumerate(documents):
        try:
            flow = registered_flow(source)
            registered_check(flow)
        except Invalid as exc:
            flow_id, namespace = _named(source) if "does not parse" not in exc.message else (None, None)
            checks.append(FlowCheck(index, flow_id, namespace, exc.message))
            continue
        checks.append(FlowCheck(index, flow.id, flow.namespace, None))
    return checks
