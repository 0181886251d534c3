"""Kestra (Pebble) expressions in task properties, rendered with Jinja2's sandbox.

Pebble is parsed with its own precedences and written out as Jinja (flows/pebble/syntax.py); its filters,
tests and functions are Kestra's (flows/pebble/). An unknown variable fails with its full dotted name instead of
rendering as an empty string, and `template_problem` finds at registration what could never render.

Text without an expression is answered here; Jinja2 and Kestra's filters (flows/pebble/environment.py) are imported
by the first expression, not by every handler's cold start (bench/cold_start.py).
"""

from typing import Any

from backfill_core.flows.pebble.text import TemplateRenderError, holds_expression

__all__ = ["TemplateRenderError", "render", "render_properties", "template_problem"]


def render(template: str, variables: dict[str, Any]) -> str:
    if not holds_expression(template):
        return template
    from backfill_core.flows.pebble.environment import render_text

    return render_text(template, variables)


def template_problem(template: str) -> str | None:
    """Why a property's template could never render, whatever its variables: it does not parse, or it uses a
    filter, test or function that does not exist or that we do not run. None when it may render. For refusing a
    flow at registration, before any slot of a backfill fails on it."""
    if not holds_expression(template):
        return None
    from backfill_core.flows.pebble.environment import expression_problem

    return expression_problem(template)


def render_properties(value: Any, variables: dict[str, Any]) -> Any:
    """Render every string inside a task's properties (lists and maps included)."""
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, list):
        return [render_properties(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: render_properties(v, variables) for k, v in value.items()}
    return value
