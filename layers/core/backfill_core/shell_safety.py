"""Caller data stays data: a backfill's labels and inputs come from whoever may call the API, who need not be
the flow's author. A flow whose shell commands render `labels` or `inputs` into the script (Kestra pastes the
value in as it is) would run whatever shell syntax such a value holds; so a value that holds any is refused
at creation, naming it, and the README shows the safe way: the task's `env`, whose values reach the script as
environment variables and are never parsed by the shell."""

import json
import re
from collections.abc import Iterable
from typing import Any

from .errors import Invalid
from .flows import Flow
from .models import Label
from .tasks import COMMANDS

# What /bin/sh reads as syntax in a value pasted into a script, quoted or not: quotes and escapes, expansions,
# command separators, redirections and subshells, and line breaks.
SHELL_SYNTAX = frozenset("\"'`$\\;&|<>()\n\r")
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)
SAFE_WAY = "pass it to the task's `env` and use the variable in the command instead (README: 'Caller data and shell')"


def _rendered_into_commands(flow: Flow, variable: str) -> str | None:
    """The first Commands task whose commands render `variable` (labels, inputs), or None."""
    mention = re.compile(rf"\b{variable}\b")
    for task in flow.tasks:
        if task.type != COMMANDS:
            continue
        for command in task.properties().get("commands") or []:
            for match in _EXPRESSION.finditer(str(command)):
                if mention.search(match.group(1) or match.group(2) or ""):
                    return task.id
    return None


def _syntax_in(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return "".join(sorted({c for c in text if c in SHELL_SYNTAX}))


def check_caller_values(flow: Flow, labels: Iterable[Label], inputs: dict[str, Any] | None) -> None:
    """Raises Invalid naming the first label or input whose value the flow would hand to the shell as code."""
    for variable, values in (
        ("labels", {label.key: label.value for label in labels}),
        ("inputs", inputs or {}),
    ):
        task = _rendered_into_commands(flow, variable) if values else None
        if task is None:
            continue
        for name, value in values.items():
            found = _syntax_in(value)
            if found:
                shown = found.replace("\n", "\\n").replace("\r", "\\r")
                raise Invalid(
                    f"backfill.{variable}.{name}: the value holds shell syntax ({shown}) and flow "
                    f"{flow.namespace}.{flow.id} renders {variable} into the commands of task '{task}', where "
                    f"/bin/sh would run it; {SAFE_WAY}"
                )
