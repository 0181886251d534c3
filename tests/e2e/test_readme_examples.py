"""The README's set-up and examples, run as a user runs them against `make run`'s stack."""

import json
import re
import subprocess
import sys
import time

import pytest
import requests

from tests.e2e.conftest import ROOT, start_stack

README = (ROOT / "README.md").read_text()


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


def on_port(snippet: str, port: int) -> str:
    """The snippet verbatim, but for the port when 8080 was taken on this machine."""
    return snippet.replace("localhost:8080", f"localhost:{port}")


@pytest.fixture(scope="module")
def readme_stack(tmp_path_factory):
    stack = start_stack(tmp_path_factory, prefer_port=8080)
    yield stack
    if stack.process.poll() is None:
        stack.interrupt()


def test_readme_starts_with_the_two_setup_commands():
    blocks = code_blocks("sh")
    assert blocks[0].strip() == "make run"
    assert blocks[1].strip() == "make test"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: ", makefile, re.M) and re.search(r"^test: ", makefile, re.M)


def test_kestra_curl_and_python_snippets_work_verbatim(readme_stack):
    stack = readme_stack
    kestra_call = "curl -XPUT http://localhost:8080/api/v1/triggers -H 'Content-Type: application/json' -d '{\n"
    (curl,) = [b for b in code_blocks("sh") if b.startswith(kestra_call + '  "backfill"')]
    (python,) = code_blocks("python")

    done = subprocess.run(["bash", "-c", on_port(curl, stack.port)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    trigger = json.loads(done.stdout)
    assert trigger["namespace"] == "dev" and trigger["backfill"]["start"] == "2024-03-28T06:30:00Z"
    assert trigger["backfill"]["end"] is not None  # `null` became the creation time
    assert trigger["backfill"]["labels"] == [{"key": "reason", "value": "outage"}]

    done = subprocess.run(
        [sys.executable, "-c", on_port(python, stack.port)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    status, body = done.stdout.split("\n", 1)
    assert status == "200", done.stdout
    assert json.loads(body)["namespace"] == "company.team"

    for namespace in ("dev", "company.team"):
        first = stack.wait_for(
            lambda ns=namespace: stack.backfills(namespace=ns, labels="reason:outage", state="SUCCESS"),
            timeout=60,
            what=f"a {namespace} execution labelled reason:outage",
        )
        assert first[0]["trigger"]["variables"]["date"] == "2024-03-28T06:30:00Z"

    # The README's delete lines stop both (each answers 200, then nothing more starts).
    (controls,) = [b for b in code_blocks("sh") if "backfill/delete" in b]
    delete = [line for line in controls.replace("\\\n", "").splitlines() if "backfill/delete" in line][0]
    for namespace in ("dev", "company.team"):
        command = on_port(delete, stack.port).replace('"dev"', f'"{namespace}"')
        done = subprocess.run(["bash", "-c", command + " -w '\\n%{http_code}'"], capture_output=True, text=True)
        assert done.stdout.rsplit("\n", 1)[1] == "200", done.stdout
    settled = len(stack.backfills(namespace="dev")) + len(stack.backfills(namespace="company.team"))
    stack.wait_for(lambda: not stack.executions(state="RUNNING"), timeout=30, what="running slots to finish")
    time.sleep(3)
    after = len(stack.backfills(namespace="dev")) + len(stack.backfills(namespace="company.team"))
    assert after <= settled + 2  # at most the slot each backfill was running


def test_readme_disable_and_enable_lines_work(readme_stack):
    (block,) = [b for b in code_blocks("sh") if '"disabled": true' in b]
    disable, enable = [line for line in block.replace("\\\n", "").splitlines() if line.strip()]
    for command, expected in ((disable, True), (enable, False)):
        done = subprocess.run(
            ["bash", "-c", on_port(command, readme_stack.port)], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["disabled"] is expected


def test_readme_concurrency_and_history_lines_work(readme_stack):
    (block,) = [b for b in code_blocks("sh") if '"concurrency": 10' in b]
    create = block[block.index("curl -XPUT") : block.index("}}'") + 3]
    done = subprocess.run(
        ["bash", "-c", on_port(create, readme_stack.port)], capture_output=True, text=True, timeout=30
    )
    backfill = json.loads(done.stdout)["backfill"]
    assert (backfill["concurrency"], backfill["order"]) == (10, "newest_first")
    for line in block.replace("\\\n", "").splitlines():
        if line.startswith("curl") and "BACKFILL_ID" in line or line.startswith("curl '"):
            command = on_port(line.replace("BACKFILL_ID", backfill["id"]), readme_stack.port)
            answer = json.loads(subprocess.run(["bash", "-c", command], capture_output=True, text=True).stdout)
            assert "message" not in answer, (line, answer)
    delete = '{"namespace": "company.team", "flowId": "scheduled_flow", "triggerId": "schedule"}'
    requests_delete = f"curl -s -XPOST http://localhost:{readme_stack.port}/api/v1/triggers/backfill/delete "
    subprocess.run(["bash", "-c", requests_delete + f"-H 'Content-Type: application/json' -d '{delete}'"], check=True)


def test_readme_dry_run_line_works(readme_stack):
    (block,) = [b for b in code_blocks("sh") if "dry-run" in b]
    done = subprocess.run(["bash", "-c", on_port(block, readme_stack.port)], capture_output=True, text=True, timeout=30)
    plan = json.loads(done.stdout)
    assert (plan["total"], plan["firstPage"][0], plan["lastPage"][-1]) == (
        11,
        "2024-03-28T06:30:00Z",
        "2024-03-28T11:30:00Z",
    )


def test_readme_bulk_lines_work(readme_stack):
    window = {"start": "2024-03-28T06:30:00Z", "end": "2024-03-28T11:30:00Z"}
    ref = {"namespace": "dev", "flowId": "scheduled_flow", "triggerId": "schedule"}
    created = requests.put(f"{readme_stack.url}/api/v1/triggers", json={**ref, "backfill": window}, timeout=10)
    assert created.status_code == 200, created.text
    (block,) = [b for b in code_blocks("sh") if "by-triggers" in b]
    pause, unpause = [line for line in block.replace("\\\n", "").splitlines() if line.strip()]
    for command in (pause, unpause):
        done = subprocess.run(["bash", "-c", on_port(command, readme_stack.port)], capture_output=True, text=True)
        assert json.loads(done.stdout) == {"count": 1}, command
    deleted = requests.post(f"{readme_stack.url}/api/v1/triggers/backfill/delete", json=ref, timeout=10)
    assert deleted.status_code == 200


def test_ctrl_c_stops_the_stack_cleanly(tmp_path_factory):
    stack = start_stack(tmp_path_factory)
    assert "Kestra backfill API" in stack.output()
    assert "scheduled_flow.yaml" in stack.output()
    assert stack.interrupt() == 0
    assert "Stopped." in stack.output()
