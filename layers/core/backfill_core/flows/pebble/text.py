"""A property's text and Pebble: whether it holds an expression, and the error when it cannot be rendered. Apart
from Jinja2 (flows/pebble/environment.py), so that text without an expression never imports it."""


class TemplateRenderError(ValueError):
    """A property could not be rendered; the message names the expression or the unknown variable."""


def holds_expression(template: str) -> bool:
    return "{{" in template or "{%" in template
