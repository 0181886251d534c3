"""The README's set-up and examples, run as a user runs them against `make run`'s stack."""

import json
import re
import subprocess
import sys
import time

import pytest
import requests

from tests.e2e.conftest import ROOT, start_stack
from tests.harness import run_kind

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


def test_the_story_replays_the_bounded_outage_before_kestras_open_ended_calls(readme_stack):
    """Was: Kestra's `end: null` call came first and started tens of thousands of slots, so the outage window's
    call after it answered 409 (overlap), and the delete that unblocked it was two sections further down. Now the
    outage call comes first and, run verbatim, replays its eleven slots; the watch line then finds all eleven."""
    stack = readme_stack
    puts = [
        b for b in code_blocks("sh") if b.startswith("curl -XPUT http://localhost:8080/api/v1/") and "backfill" in b
    ]
    assert '"end": "2024-03-28T11:30:00Z"' in puts[0] and '"end": null' in puts[1]
    after_kestra = README[README.index('"end": null') :]
    assert after_kestra.index("backfill/delete") < after_kestra.index("## Pause, resume, delete")

    done = subprocess.run(["bash", "-c", on_port(puts[0], stack.port)], capture_output=True, text=True, timeout=60)
    backfill = json.loads(done.stdout)["backfill"]
    assert (backfill["start"], backfill["end"]) == ("2024-03-28T06:30:00Z", "2024-03-28T11:30:00Z"), done.stdout
    # As the next section announces: Kestra's open-ended call while the window runs (11 slots of 1 to 5 s) is a
    # 409 naming it.
    done = subprocess.run(
        ["bash", "-c", on_port(puts[1], stack.port).rstrip() + " -w '\\n%{http_code}'"], capture_output=True, text=True
    )
    clash, status = done.stdout.rsplit("\n", 1)
    assert status == "409" and backfill["id"] in clash and "overlaps" in clash, done.stdout
    ended = stack.wait_for(
        lambda: (b := stack.get(f"/api/v1/backfills/{backfill['id']}"))["status"] == "SUCCEEDED" and b,
        timeout=120,
        what="the outage window's backfill to succeed",
    )
    assert ended["succeeded"] == 11
    (watch,) = [b for b in code_blocks("sh") if "executions/search?namespace=dev&flowId=scheduled_flow&labels" in b]
    done = subprocess.run(["bash", "-c", on_port(watch, stack.port)], capture_output=True, text=True, timeout=60)
    found = json.loads(done.stdout)["results"]
    assert len(found) == 11 and {e["state"]["current"] for e in found} == {"SUCCESS"}


def test_kestra_curl_and_python_snippets_work_verbatim(readme_stack):
    stack = readme_stack
    kestra_call = "curl -XPUT http://localhost:8080/api/v1/triggers -H 'Content-Type: application/json' -d '{\n"
    (curl,) = [b for b in code_blocks("sh") if b.startswith(kestra_call + '  "backfill"')]
    # The `requests` snippet: not the SigV4 one (it needs AWS), nor kestrapy's (test_kestrapy.py runs that).
    (python,) = [b for b in code_blocks("python") if "SigV4Auth" not in b and "kestrapy" not in b]

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

    started = {"dev": trigger["backfill"]["id"], "company.team": json.loads(body)["backfill"]["id"]}
    for namespace, backfill_id in started.items():
        first = stack.wait_for(
            lambda ns=namespace, b=backfill_id: [
                e
                for e in stack.backfills(namespace=ns, labels="reason:outage", state="SUCCESS")
                if e["backfillId"] == b
            ],
            timeout=60,
            what=f"a {namespace} execution labelled reason:outage",
        )
        assert first[0]["trigger"]["variables"]["date"] == "2024-03-28T06:30:00Z"

    # The delete lines right after them stop both (each answers 200, then nothing more starts).
    (deletes,) = [b for b in code_blocks("sh") if b.count("backfill/delete") == 2]
    for delete in deletes.replace("\\\n", "").splitlines():
        done = subprocess.run(
            ["bash", "-c", on_port(delete, stack.port) + " -w '\\n%{http_code}'"], capture_output=True, text=True
        )
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
    (block,) = [b for b in code_blocks("sh") if "dry-run" in b and "reprocess" not in b]
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
        assert json.loads(done.stdout) == {"count": 1, "totalItems": 1}, command
    deleted = requests.post(f"{readme_stack.url}/api/v1/triggers/backfill/delete", json=ref, timeout=10)
    assert deleted.status_code == 200


def commands(block: str) -> list[str]:
    """The curl commands of a block, one each, continuation lines joined."""
    return [c.strip() for c in re.split(r"\n(?=curl )", block.replace("\\\n", "")) if c.strip()]


def run_curl(stack, command: str, **placeholders: str) -> tuple[int, dict | None]:
    """Run one README command with its placeholders filled in: its status code and JSON answer."""
    for name, value in placeholders.items():
        command = command.replace(name, value)
    done = subprocess.run(
        ["bash", "-c", on_port(command, stack.port) + " -s -w '\\n%{http_code}'"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    text, status = done.stdout.rsplit("\n", 1)
    return int(status), json.loads(text) if text.strip() else None


def test_readme_reprocess_slots_failure_policy_and_kill_lines_work(readme_stack):
    stack = readme_stack
    dev = {"namespace": "dev", "flowId": "scheduled_flow", "triggerId": "schedule"}
    # The outage window's first slot has succeeded before (as after the README's first examples).
    first = {"start": "2024-03-28T06:30:00Z", "end": "2024-03-28T06:30:00Z"}
    created = requests.put(f"{stack.url}/api/v1/triggers", json={**dev, "backfill": first}, timeout=10)
    assert created.status_code == 200, created.text
    stack.wait_for(
        lambda: stack.get(f"/api/v1/backfills/{created.json()['backfill']['id']}")["status"] == "SUCCEEDED",
        timeout=30,
        what="the first slot of the outage window",
    )

    (block,) = [b for b in code_blocks("sh") if '"reprocess": "failed"' in b]
    dry_run, create = commands(block)
    status, plan = run_curl(stack, dry_run)
    assert status == 200 and "message" not in plan, plan
    assert plan["total"] == 11 and plan["run"] + plan["skipped"] == 11 and plan["skipped"] >= 1
    assert plan["skippedPage"][0]["date"] == "2024-03-28T06:30:00Z"
    assert all(s["reason"].startswith("ALREADY_SUCCEEDED") and s["executionId"] for s in plan["skippedPage"])
    # The whole window ran before (the story's outage call) or only its first slot (this test alone).
    assert "2024-03-28T06:30:00Z" not in plan["firstPage"] and len(plan["firstPage"]) == min(3, plan["run"])
    status, trigger = run_curl(stack, create)
    assert status == 200 and "message" not in trigger, trigger
    replay = trigger["backfill"]["id"]
    assert trigger["backfill"]["reprocess"] == "failed"

    (block,) = [b for b in code_blocks("sh") if "/slots?" in b]
    (slots,) = commands(block)
    stack.wait_for(lambda: stack.get(f"/api/v1/backfills/{replay}")["skipped"] >= 1, timeout=30, what="a skipped slot")
    status, listed = run_curl(stack, slots, BACKFILL_ID=replay)
    assert status == 200 and "message" not in listed, listed
    assert listed["total"] == 11 and len(listed["results"]) == 11
    assert set(listed["results"][0]) == {"date", "state", "executionId", "reason"}
    assert listed["results"][0]["date"] == "2024-03-28T06:30:00Z" and listed["results"][0]["state"] == "SKIPPED"
    assert listed["results"][0]["reason"].startswith("ALREADY_SUCCEEDED")

    (block,) = [b for b in code_blocks("sh") if '"maxFailures": 3' in b]
    create, retry = commands(block)
    status, trigger = run_curl(stack, create)
    assert status == 200 and "message" not in trigger, trigger  # March 27 does not overlap the replay
    capped = trigger["backfill"]["id"]
    assert trigger["backfill"]["maxFailures"] == 3 and capped != replay
    status, retried = run_curl(stack, retry, BACKFILL_ID=capped)
    assert status == 200 and "message" not in retried, retried
    assert retried["retried"] == 0 and retried["backfill"]["id"] == capped  # nothing failed

    (block,) = [b for b in code_blocks("sh") if '{"kill": true}' in b]
    cancel, kill, delete = commands(block)

    def running_of(backfill_id):
        found = [e for e in stack.backfills(namespace="dev", state="RUNNING") if e["backfillId"] == backfill_id]
        return found[0] if found else None

    execution = stack.wait_for(lambda: running_of(capped), timeout=30, what="a running slot of March 27")
    status, cancelled = run_curl(stack, cancel, BACKFILL_ID=replay)
    assert status == 200 and cancelled["status"] in ("CANCELLING", "CANCELLED"), cancelled
    assert run_curl(stack, kill, EXECUTION_ID=execution["id"]) == (202, None)
    stack.wait_for(
        lambda: stack.get(f"/api/v1/executions/{execution['id']}")["state"]["current"] in ("KILLED", "SUCCESS"),
        timeout=15,
        what="the killed execution to end",
    )
    status, trigger = run_curl(stack, delete)
    assert status == 200 and "message" not in trigger and trigger.get("backfill") is None, trigger
    for backfill_id in (replay, capped):
        stack.wait_for(
            lambda b=backfill_id: stack.get(f"/api/v1/backfills/{b}")["status"] == "CANCELLED",
            timeout=15,
            what=f"backfill {backfill_id} to be cancelled",
        )
    assert not [e for e in stack.executions(namespace="dev", state="RUNNING") if run_kind(e) == "backfill"]


def test_ctrl_c_stops_the_stack_cleanly(tmp_path_factory):
    stack = start_stack(tmp_path_factory)
    assert "Kestra backfill API" in stack.output()
    assert "scheduled_flow.yaml" in stack.output()
    assert stack.interrupt() == 0
    assert "Stopped." in stack.output()


def test_readme_openapi_line_works(readme_stack):
    (block,) = [b for b in code_blocks("sh") if "openapi.json" in b]
    done = subprocess.run(["bash", "-c", on_port(block, readme_stack.port)], capture_output=True, text=True, timeout=30)
    document = json.loads(done.stdout)
    assert {"/triggers", "/backfills/{backfill_id}/slots", "/backfills/{backfill_id}/retry-failed"} <= set(
        document["paths"]
    )
    errors = document["paths"]["/triggers"]["put"]["responses"]["409"]["content"]["application/json"]["schema"]
    assert errors["$ref"].endswith("/ErrorMessage")
    page = requests.get(f"{readme_stack.url}/api/v1/swagger", timeout=10)
    assert page.status_code == 200 and "swagger" in page.text.lower()


def test_readme_rate_limit_lines_work(readme_stack):
    (block,) = [b for b in code_blocks("sh") if '"maxSlotsPerMinute": 6' in b]
    create, faster = commands(block)
    status, trigger = run_curl(readme_stack, create)
    assert status == 200 and "message" not in trigger, trigger
    created = trigger["backfill"]
    assert (created["maxSlotsPerMinute"], created["concurrency"], created["total"]) == (6, 5, 11)
    status, changed = run_curl(readme_stack, faster, BACKFILL_ID=created["id"])
    assert status == 200 and changed["maxSlotsPerMinute"] == 60, changed
    done = readme_stack.wait_for(
        lambda: (b := readme_stack.get(f"/api/v1/backfills/{created['id']}"))["status"] == "SUCCEEDED" and b,
        timeout=60,
        what="the rate-limited backfill to end",
    )
    assert done["succeeded"] == 11


def test_readme_run_window_lines_work(readme_stack):
    (block,) = [b for b in code_blocks("sh") if '"runWindow"' in b]
    create, cancel = commands(block)
    status, trigger = run_curl(readme_stack, create)
    assert status == 200 and "message" not in trigger, trigger
    created = trigger["backfill"]
    assert created["runWindow"]["from"] == "01:00" and len(created["runWindow"]["days"]) == 5
    # Waiting, and saying until when, or (between 01:00 and 06:00 UTC on a weekday) running.
    assert (created["status"] == "WAITING_FOR_WINDOW") == bool(created["nextWindowOpening"]), created
    status, cancelled = run_curl(readme_stack, cancel, BACKFILL_ID=created["id"])
    assert status == 200 and cancelled["status"] in ("CANCELLING", "CANCELLED"), cancelled
