"""Kestra's `jq` filter, run by the `jq` package (libjq) in a child process of its own.

A jq program can loop forever (`def f: f; f`), build a huge value (`"x" * 1e9`) or read the environment
(`$ENV`); inside the executor that would hang, exhaust or leak it. The child has no environment but its import
path, a CPU-time and memory limit and a timeout, and refuses an answer larger than a property may hold. Each
call costs a process start (about a tenth of a second): jq is for shaping a task's output, not for loops.
Facts: https://kestra.io/docs/expressions/filters/json (jq returns the list of every result)
"""

import json
import os
import re
import subprocess
import sys
from typing import Any

from backfill_core.flows.pebble.limits import MAX_RENDERED_CHARS, PebbleProblem

CPU_SECONDS = 2
MEMORY_BYTES = 256 * 1024 * 1024
_FORBIDDEN = re.compile(
    r"(?<![.\w$])(env|input|inputs|import|include|modulemeta|get_search_list|input_filename|input_line_number"
    r"|halt|halt_error|debug|stderr|get_prog_origin|get_jq_origin)\b|\$ENV\b|\$__loc__|\$__prog_args"
)
_CHILD = f"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_CPU, ({CPU_SECONDS}, {CPU_SECONDS}))
resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_BYTES}, {MEMORY_BYTES}))
import jq
program, value = json.load(sys.stdin)
try:
    answer = json.dumps({{"results": jq.compile(program).input_value(value).all()}})
except Exception as exc:
    answer = json.dumps({{"error": (str(exc).strip() or type(exc).__name__)[:500]}})
if len(answer) > {MAX_RENDERED_CHARS}:
    answer = json.dumps({{"error": "its results are larger than a property may hold"}})
sys.stdout.write(answer)
"""


class JqProblem(PebbleProblem):
    """A jq expression that does not compile, fails, takes too long or asks for what a flow may not reach."""


def jq(value: Any, expression: str | None = None) -> list[Any]:
    """Every result of the jq expression on the value (text is read as JSON), as Kestra's `jq` filter gives."""
    if not isinstance(expression, str):
        raise JqProblem("the filter 'jq' needs an expression, e.g. jq('.items[0]')")
    if forbidden := _FORBIDDEN.search(expression):
        raise JqProblem(f"jq's '{forbidden[0]}' reaches outside the value and is not allowed in a flow")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise JqProblem(f"the filter 'jq' was given text that is not JSON: {exc}") from exc
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD],
            input=json.dumps([expression, value], default=str),
            capture_output=True,
            text=True,
            timeout=CPU_SECONDS * 3,
            env={"PYTHONPATH": os.pathsep.join(path for path in sys.path if path)},
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise JqProblem(f"jq('{expression}') took longer than {CPU_SECONDS * 3} seconds") from exc
    if not done.stdout:
        raise JqProblem(f"jq('{expression}') was stopped: it used more than {CPU_SECONDS} s of CPU or its memory")
    answer = json.loads(done.stdout)
    if "error" in answer:
        raise JqProblem(f"jq('{expression}') failed: {answer['error']}")
    return answer["results"]
