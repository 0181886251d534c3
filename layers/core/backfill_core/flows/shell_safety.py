"""Caller data stays data: a backfill's labels and inputs come from whoever may call the API, who need not be
the flow's author. A flow whose script tasks render `labels` or `inputs` into code (their commands,
`beforeCommands`, a shell or Python `script`, an input file: Kestra pastes the value in as it is) would run
whatever syntax such a value holds, or take it as more arguments; so a value that code renders holding any
is refused (at creation, naming it, and again when a task renders it, since the flow may have changed since),
and the README shows the safe way: the task's `env`, whose values reach the script as environment variables
and are never parsed as code."""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from backfill_core.errors import Invalid
from backfill_core.flows.labels import Label
from backfill_core.flows.model import Flow
from backfill_core.flows.task_spec import FOR_EACH, walk
from backfill_core.flows.tasks.script_types import PYTHON_SCRIPT, SCRIPT_TASK_TYPES

# What /bin/sh reads as syntax in a value pasted into a script, quoted or not: quotes and escapes, expansions,
# separators, redirections, subshells, braces, globs, comments, and the blanks and line breaks that split words.
SHELL_SYNTAX = frozenset("\"'`$\\;&|<>(){}[]*?#~!\n\r\t ")
# Python reads these too: the shell's set (quotes, calls, subscripts, blanks, line breaks...) and the commas and
# equals signs that would add arguments to a call (`shell=True`), and the other blanks that separate its words.
PYTHON_SYNTAX = SHELL_SYNTAX | frozenset(",=\x0b\x0c")
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


@dataclass(frozen=True)
class Code:
    """What one property of a script task hands to an interpreter: its texts, and the syntax that reads them."""

    where: str  # `commands of task 'x'`
    language: str
    syntax: frozenset[str]
    texts: list[str]


def _texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(item) for item in value.values()]
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _code_of(flow: Flow) -> list[Code]:
    """The code of each script task (in every task list of the flow), with the properties of every task whose
    outputs it renders, and so on: a value rendered into a Return or an output line reaches the code too.
    An input file may be run as shell or Python: Python's syntax, the larger, is checked."""
    everything = list(walk(flow.task_lists()))
    by_id = {task.id: task for _, task, _ in everything}
    found: list[Code] = []
    for path, task, _ in everything:
        if task.type not in SCRIPT_TASK_TYPES:
            continue
        # A ForEach's values reach the code inside it as `taskrun.value` or `parent(s)...`.
        each = [
            json.dumps(by_id[owner].properties().get("values"), default=str)
            for owner in re.findall(r"\[([^\]]+)\]\.", path)
            if owner in by_id and by_id[owner].type == FOR_EACH
        ]
        props = task.properties()
        python_script = task.type == PYTHON_SCRIPT
        for name in ("beforeCommands", "commands", "script", "interpreter", "inputFiles"):
            if props.get(name) is None:
                continue
            python = name == "inputFiles" or (name == "script" and python_script)
            language = "Python" if python else "shell"
            texts = _texts(props[name]) + each
            reached, pending = {task.id}, list(texts)
            while pending:
                for match in _OUTPUTS_OF.finditer(pending.pop()):
                    source = by_id.get(match.group(1) or match.group(2))
                    if source is not None and source.id not in reached:
                        reached.add(source.id)
                        text = json.dumps(source.properties(), ensure_ascii=False, default=str)
                        texts.append(text)
                        pending.append(text)
            syntax = PYTHON_SYNTAX if python else SHELL_SYNTAX
            found.append(Code(f"{name} of task '{task.id}'", language, syntax, texts))
    return found


def _syntax_in(value: Any, syntax: frozenset[str]) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    found = "".join(sorted({c for c in text if c in syntax}))
    return found + ("-" if text.startswith("-") else "")


def _shown(found: str) -> str:
    names = {"\n": "line break", "\r": "carriage return", "\t": "tab", " ": "space", "\x0b": "\\v", "\x0c": "\\f"}
    return ", ".join(names.get(c, c) for c in found)


def problem(flow: Flow, labels: Iterable[Label], inputs: dict[str, Any] | None) -> str | None:
    """The first label or input the flow's script tasks would hand to the shell or Python as code, as
    `field: why`, or None."""
    values = {"labels": {label.key: label.value for label in labels}, "inputs": inputs or {}}
    for code in _code_of(flow):
        runs_it = "Python would run it" if code.language == "Python" else "/bin/sh would run it"
        if code.where.startswith("inputFiles"):
            runs_it = "a command may run it as shell or Python"
        for variable, given in values.items():
            names = rendered_names(code.texts, variable) if given else set()
            for name, value in given.items():
                if EVERY not in names and name not in names:
                    continue
                found = _syntax_in(value, code.syntax) or (_syntax_in(name, code.syntax) if EVERY in names else "")
                if found:
                    return (
                        f"backfill.{variable}.{name}: the value holds {code.language} syntax ({_shown(found)}) and "
                        f"flow {flow.namespace}.{flow.id} renders it into the {code.where}, where {runs_it}; "
                        f"{SAFE_WAY}"
                    )
    return None


def check_caller_values(flow: Flow, labels: Iterable[Label], inputs: dict[str, Any] | None) -> None:
    """Raises Invalid naming the first label or input whose value the flow would hand to the shell or Python as
    code."""
    found = problem(flow, labels, inputs)
    if found:
        raise Invalid(found)
