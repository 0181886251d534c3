"""Kestra's official Python SDK, kestrapy 1.x and 2.x, as a Kestra user runs it against `make run`'s stack: one
test per SDK call of kestrapy_driver.py, each answer parsed by the SDK's strict models."""

import json
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

DRIVER = ROOT / "tests" / "e2e" / "kestrapy_driver.py"
README = (ROOT / "README.md").read_text()
STEPS = (
    "create_flow",
    "read_flow",
    "create_backfill",
    "pause_backfill",
    "unpause_backfill",
    "search_triggers",
    "search_executions",
    "read_execution",
    "list_logs",
    "kill_execution",
    "delete_backfill",
    "create_execution",
    "follow_execution",
)


def sdk_python(major: int) -> Path:
    python = ROOT / f".venv-kestrapy{major}" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: `make test` (or `make .venv-kestrapy{major}/.installed`) creates it")
    return python


@cache
def report(major: int, url: str) -> dict[str, dict]:
    """The driver's verdict on each step, run once per SDK major and stack."""
    done = subprocess.run(
        [str(sdk_python(major)), "-W", "ignore", str(DRIVER), url, f"sdk.v{major}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    steps = {}
    for line in done.stdout.splitlines():
        verdict = json.loads(line)
        steps[verdict["step"]] = verdict
    assert list(steps) == list(STEPS), (done.stdout, done.stderr)
    return steps


@pytest.mark.parametrize(("major", "step"), [(major, step) for major in (1, 2) for step in STEPS])
def test_kestrapy_call_parses_with_the_sdk_strict_models(local_stack, major, step):
    verdict = report(major, local_stack.url)[step]
    assert verdict["ok"], verdict["detail"]


def test_the_readme_kestrapy_snippet_backfills_the_seed_outage(local_stack):
    (snippet,) = [b for b in re.findall(r"```python\n(.*?)```", README, re.DOTALL) if "kestrapy" in b]
    done = subprocess.run(
        [str(sdk_python(2)), "-W", "ignore", "-c", snippet.replace("localhost:8080", f"localhost:{local_stack.port}")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["2024-03-28T06:30:00Z", "2024-03-28T11:30:00Z"], done.stdout
    local_stack.wait_for(
        lambda: local_stack.backfills(namespace="dev", labels="reason:outage", state="SUCCESS"),
        timeout=60,
        what="a run of the snippet's backfill",
    )


def test_each_sdk_venv_holds_the_pinned_kestrapy():
    for major in (1, 2):
        pinned = re.search(r"^kestrapy==(\S+)", (ROOT / f"requirements-kestrapy{major}.txt").read_text(), re.M)
        assert pinned and pinned[1].startswith(f"{major}."), pinned
        done = subprocess.run(
            [str(sdk_python(major)), "-c", "import kestrapy; print(kestrapy.__version__)"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.stdout.strip() == pinned[1], done.stderr
