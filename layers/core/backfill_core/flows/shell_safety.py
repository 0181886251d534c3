"""Caller data stays data: a backfill's labels and inputs come from whoever may call the API, who need not be
the flow's author. A flow whose shell commands render `labels` or `inputs` into the script (Kestra pastes the
value in as it is) would run whatever shell syntax such a value holds, or take it as more arguments; so a
value the commands render that holds any is refused (at creation, naming it, and again when a task renders
it, since the flow may have changed since), and the README shows the safe way: the task's `env`, whose
values reach the script as environment variables and are never parsed by the shell."""

import json
import re
from collections.abc import Iterable
from typing import Any

from backfill_core.errors import Invalid
from backfill_core.flows.labels import Label
from backfill_core.flows.model import Flow
from backfill_core.flows.task_spec import FOR_EACH, walk
from backfill_core.flows.tasks.task_types import COMMANDS

# What /bin/sh reads as syntax in a value pasted into a script, quoted or not: quotes and escapes, expansions,
# separators, redirections, subshells, braces, globs, comments, and the blanks and line breaks that split words.
SHELL_SYNTAX = frozenset("\"'`$\\;&|<>(){}[]*?#~!\n\r\t ")
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)
SAFE_WAY = "pass it to the task's `env` and use the variable in the command instead (README: 'Caller data and shell')"
EVERY = "*"  # the whole map is rendered (`{{ labels }}`, a loop over it): every name counts


def rendered_names(commands: Iterable[str], variable: str) -> set[str]:
    """The names of `variable` (labels, inputs) the commands render: `x.name` and `x['name']` name one, any other
    use of `x` stands for them all."""
    one = re.compile(rf"\b{variable}\s*(?:\.\s*(\w+)|\[\s*['\"]([^'\"]+)['\"]\s*\])")
    bare = re.compile(rf"\b{variable}\b")
    names: set[str] = set()
    for command in commands:
        for match in _EXPRESSION.finditer(str(command)):
            body = match.group(1) or match.group(2) or ""
            named = [m.group(1) or m.group(2) for m in one.finditer(body)]
            names.update(named)
            if len(bare.findall(body)) > len(named):
                names.add(EVERY)
    return names


_OUTPUTS_OF = re.compile(r"\boutputs\s*(?:\.\s*(\w+)|\[\s*['\"]([^'\"]+)['\"]\s*\])")


def _commands_of(flow: Flow) -> dict[str, list[str]]:
    """Each Commands task's commands (in tasks, errors and finally), and the properties of every task whose
    outputs they render, and so on: a value rendered into a Return or an output line reaches the shell too."""
    by_id = {task.id: task for task in flow.all_tasks()}
    found: dict[str, list[str]] = {}
    for path, task, _ in walk(flow.task_lists()):
        if task.type != COMMANDS:
            continue
        texts = [str(c) for c in task.properties().get("commands") or []]
        # A ForEach's values reach the commands inside it as `taskrun.value` or `parent(s)...`.
        texts += [
            json.dumps(by_id[owner].properties().get("values"), default=str)
            for owner in re.findall(r"\[([^\]]+)\]\.", path)
            if by_id[owner].type == FOR_EACH
        ]
        reached, pending = {task.id}, list(texts)
        while pending:
            for match in _OUTPUTS_OF.finditer(pending.pop()):
                source = by_id.get(match.group(1) or match.group(2))
                if source is not None and source.id not in reached:
                    reached.add(source.id)
                    text = json.dumps(source.properties(), ensure_ascii=False, default=str)
                    texts.append(text)
                    pending.append(text)
        found[task.id] = texts
    return found


def _syntax_in(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    found = "".join(sorted({c for c in text if c in SHELL_SYNTAX}))
    return found + ("-" if text.startswith("-") else "")


def _shown(found: str) -> str:
    return ", ".join({"\n": "line break", "\r": "carriage return", "\t": "tab", " ": "space"}.get(c, c) for c in found)


def problem(flow: Flow, labels: Iterable[Label], inputs: dict[str, Any] | None) -> str | None:
    """The first label or input the flow's commands would hand to the shell as code, as `field: why`, or None."""
    values = {"labels": {label.key: label.value for label in labels}, "inputs": inputs or {}}
    for task_id, commands in _commands_of(flow).items():
        for variable, given in values.items():
            names = rendered_names(commands, variable) if given else set()
            for name, value in given.items():
                if EVERY not in names and name not in names:
                    continue
                found = _syntax_in(value) or (_syntax_in(name) if EVERY in names else "")
                if found:
                    return (
                        f"backfill.{variable}.{name}: the value holds shell syntax ({_shown(found)}) and flow "
                        f"{flow.namespace}.{flow.id} renders it into the commands of task '{task_id}', where "
                        f"/bin/sh would run it; {SAFE_WAY}"
                    )
    return None


def check_caller_values(flow: Flow, labels: Iterable[Label], inputs: dict[str, Any] | None) -> None:
    """Raises Invalid naming the first label or input whose value the flow would hand to the shell as code."""
    found = problem(flow, labels, inputs)
    if found:
        raise Invalid(found)
