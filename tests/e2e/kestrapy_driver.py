"""Kestra's official Python SDK (kestrapy) driving the local stack, as a Kestra user's script would.

Run by tests/e2e/test_kestrapy.py with the python of .venv-kestrapy1 or .venv-kestrapy2 (the SDK is not in the
project's venv), so it imports nothing of the project: `python kestrapy_driver.py URL NAMESPACE`. It prints one
JSON line per step, {"step", "ok", "detail"}. A step whose call the server refused makes the steps that need it
fail too, naming it; one whose answer the SDK refused (or whose check failed) does not, as the server did it.
Every answer is parsed with the SDK's strict models: the SDK itself falls back to an unvalidated model when its
strict parse fails, which would hide a wrong answer.
"""

import json
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import kestrapy
from kestrapy import KestraClient, models
from kestrapy.base_api import BaseApi
from pydantic import ValidationError

MAJOR = int(kestrapy.__version__.split(".")[0])
TENANT = "main"
TRIGGER_ID = "hourly"
# Three hourly slots; each runs a Log task, then a shell task long enough to be killed while it runs.
START = datetime(2024, 3, 28, 6, 0, tzinfo=UTC)
END = datetime(2024, 3, 28, 8, 0, tzinfo=UTC)
FLOW = """id: sdk_flow
namespace: {namespace}
labels:
  team: sdk
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "slot {{{{ trigger.date ?? execution.startDate }}}}"
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep 20
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def strict(data: Any, model: type) -> Any:
    """`model` from JSON, or the validation error: never the SDK's unvalidated fallback."""
    if isinstance(data, list):
        return [strict(item, model) for item in data]
    return model.from_dict(data)


def _strict_deserialize(data: Any, return_type: Any) -> Any:
    if data is not None and isinstance(return_type, type) and hasattr(return_type, "from_dict"):
        return strict(data, return_type)
    return _lenient(data, return_type)


_lenient = BaseApi._deserialize
BaseApi._deserialize = staticmethod(_strict_deserialize)


class Driver:
    def __init__(self, url: str, namespace: str):
        self.client = KestraClient(host=url, timeout=60)
        self.namespace = namespace
        self.flow_id = "sdk_flow"
        self.got: dict[str, Any] = {}
        self.failed: set[str] = set()

    def step(self, name: str, needs: tuple[str, ...], call: Callable[[], Any]) -> None:
        missing = [need for need in needs if need in self.failed]
        if missing:
            self.report(name, False, f"not run: needs {', '.join(missing)}")
            self.failed.add(name)
            return
        try:
            self.got[name] = call()
        except Exception as exc:  # noqa: BLE001 - any failure of the SDK call is the step's result
            if not isinstance(exc, ValidationError | AssertionError):  # else the server did it: later steps run
                self.failed.add(name)
            self.report(name, False, f"{type(exc).__name__}: {str(exc)[:1500]}")
            return
        self.report(name, True, "")

    @staticmethod
    def report(name: str, ok: bool, detail: str) -> None:
        print(json.dumps({"step": name, "ok": ok, "detail": detail}), flush=True)

    def trigger_id(self) -> Any:
        if MAJOR >= 2:
            return models.TriggerControllerApiTriggerId(
                namespace=self.namespace, flowId=self.flow_id, triggerId=TRIGGER_ID
            )
        return models.Trigger(namespace=self.namespace, flowId=self.flow_id, triggerId=TRIGGER_ID, date=START)

    def filters(self, **fields: str) -> list[dict]:
        """As a user writes them with the SDK's QueryFilterField names (FLOW_ID), which it sends as flowId."""
        return [
            {"field": re.sub(r"([A-Z])", r"_\1", field).upper(), "operation": "EQUALS", "value": value}
            for field, value in fields.items()
        ]

    def poll(self, what: str, probe: Callable[[], Any], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            time.sleep(0.5)
        raise TimeoutError(f"no {what} after {timeout}s")

    # Flows

    def create_flow(self) -> Any:
        flow = self.client.flows.create_flow(TENANT, FLOW.format(namespace=self.namespace))
        assert (flow.id, flow.namespace, flow.revision) == (self.flow_id, self.namespace, 1), flow
        return flow

    def read_flow(self) -> Any:
        flow = self.client.flows.flow(self.namespace, self.flow_id, TENANT)
        assert [(label.key, label.value) for label in flow.labels] == [("team", "sdk")], flow.labels
        assert [task.id for task in flow.tasks] == ["hello", "work"], flow.tasks
        return flow

    # Backfills

    def create_backfill(self) -> Any:
        labels = [models.Label(key="reason", value="outage")]
        if MAJOR >= 2:
            request = models.TriggerControllerApiCreateBackfillRequest(
                namespace=self.namespace,
                flowId=self.flow_id,
                triggerId=TRIGGER_ID,
                backfill=models.TriggerControllerApiCreateBackfillRequestBackfill(start=START, end=END, labels=labels),
            )
            answer = strict(self.client.triggers.create_backfill(TENANT, request), models.ApiTriggerState)
        else:
            answer = self.put_triggers_backfill()
        assert answer.backfill is not None and answer.backfill.start == START, answer
        return answer

    def put_triggers_backfill(self) -> Any:
        """kestrapy 1.x has no method for Kestra 1.x's PUT /triggers (its UI's backfill call): the SDK's own
        transport sends the SDK's Trigger model, as its pause and unpause methods do."""
        backfill = {"start": START, "end": END, "labels": [{"key": "reason", "value": "outage"}]}
        trigger: Any = {"namespace": self.namespace, "flowId": self.flow_id, "triggerId": TRIGGER_ID}
        if MAJOR < 2:  # 2.x has no Trigger model: its fallback (see run) sends the same JSON as a dict
            trigger = models.Trigger(**trigger, date=START, backfill=models.Backfill(**backfill))
        else:
            trigger["backfill"] = backfill
        triggers = self.client.triggers
        answer = triggers._raw_json_request("PUT", triggers._tenant_path(TENANT, "triggers"), body=trigger)
        return strict(answer, models.Trigger) if MAJOR < 2 else answer

    def _backfill_action(self, action: str, paused: bool | None) -> Any:
        model = models.ApiTriggerState if MAJOR >= 2 else models.Trigger
        answer = strict(getattr(self.client.triggers, action)(TENANT, self.trigger_id()), model)
        if paused is not None:
            assert answer.backfill is not None and answer.backfill.paused is paused, answer
        return answer

    def search_triggers(self) -> Any:
        found = self.client.triggers.search_triggers(
            TENANT, page=1, size=10, filters=self.filters(namespace=self.namespace, flowId=self.flow_id)
        )
        if MAJOR >= 2:
            page = strict(found, models.PagedResultsApiTriggerAndState)
            contexts = [(entry.trigger.id, entry.state) for entry in page.results]
        else:
            page = strict(found, models.PagedResultsTriggerControllerTriggers)
            contexts = [(entry.abstract_trigger.id, entry.trigger_context) for entry in page.results]
        assert [trigger for trigger, _ in contexts] == [TRIGGER_ID], page
        assert contexts[0][1].backfill is not None, page
        return page

    # Executions and logs

    def search(self, namespace: str) -> Any:
        """GET /executions/search with Kestra's filters, as the SDK sends them; its answer as JSON."""
        executions = self.client.executions
        filters = self.filters(namespace=namespace, flowId=self.flow_id)
        params = [("page", 1), ("size", 100)]
        executions._append_filter_params(params, filters)
        return executions._raw_json_request(
            "GET", executions._tenant_path(TENANT, "executions", "search"), params=params
        )

    def search_executions(self) -> Any:
        model = models.PagedResultsApiLightExecution if MAJOR >= 2 else models.PagedResultsExecution
        filters = self.filters(namespace=self.namespace, flowId=self.flow_id)
        page = self.poll(
            "execution of the backfill",
            lambda: strict(self.client.executions.search_executions(TENANT, page=1, size=100, filters=filters), model),
        )
        assert page.results and {(e.namespace, e.flow_id) for e in page.results} == {(self.namespace, self.flow_id)}
        nothing = strict(
            self.client.executions.search_executions(TENANT, filters=self.filters(namespace="no.such.namespace")),
            model,
        )
        assert nothing.total == 0 and not nothing.results, nothing
        return page

    def running_execution(self) -> str:
        """The running slot's execution, found in the search's JSON (search_executions checks its models)."""

        def running() -> list:
            found = self.search(self.namespace)["results"]
            return [
                e["id"]
                for e in found
                if (e["namespace"], e["flowId"]) == (self.namespace, self.flow_id)
                and e["state"]["current"] == "RUNNING"
            ]

        if "running" not in self.got:
            self.got["running"] = self.poll("RUNNING execution of the backfill", running)[0]
        return self.got["running"]

    def read_execution(self) -> Any:
        execution_id = self.running_execution()
        execution = self.client.executions.execution(execution_id, TENANT)
        assert execution.id == execution_id and execution.flow_id == self.flow_id, execution
        assert ("reason", "outage") in [(label.key, label.value) for label in execution.labels], execution.labels
        return execution

    def list_logs(self) -> list:
        execution_id = self.running_execution()

        def slot_line() -> list:
            logs = self.client.logs.list_logs_from_execution(execution_id, TENANT)
            return [entry for entry in logs if entry.task_id == "hello" and "slot 2024-03-28T06:00" in entry.message]

        return self.poll("log line of the hello task", slot_line)

    def kill_execution(self) -> Any:
        execution_id = self.running_execution()
        killed = self.client.executions.kill_execution(execution_id, TENANT)  # 2.x: the Execution, KILLING

        def state() -> str:
            executions = self.client.executions
            path = executions._tenant_path(TENANT, "executions", execution_id)
            return executions._raw_json_request("GET", path)["state"]["current"]

        self.poll("KILLED state", lambda: state() == "KILLED")
        return killed

    def create_execution(self) -> Any:
        created = self.client.executions.create_execution(TENANT, self.namespace, self.flow_id)
        assert created.flow_id == self.flow_id, created
        return created

    def follow_execution(self) -> Any:
        """The manual run followed to its end, as Kestra's CLI and UI follow one (server-sent events)."""
        last = None
        created = self.got.get("create_execution")
        if created is None:
            raise RuntimeError("no run by hand to follow: the SDK refused create_execution's answer")
        ended = ("SUCCESS", "FAILED", "KILLED", "WARNING", "CANCELLED")
        deadline = time.monotonic() + 120
        # Through API Gateway an answer is sent whole, so one follow carries the events of up to 20 s (README):
        # a run still going when it ends is followed again, as a browser's EventSource reconnects.
        while time.monotonic() < deadline and (last is None or last.state.current.value not in ended):
            for last in self.client.executions.follow_execution(created.id, TENANT):
                if last.state.current.value in ended:
                    break
        assert last is not None and last.state.current.value == "SUCCESS", last
        return last

    def run(self) -> None:
        self.step("create_flow", (), self.create_flow)
        self.step("read_flow", ("create_flow",), self.read_flow)
        self.step("create_backfill", ("create_flow",), self.create_backfill)
        if MAJOR >= 2 and "create_backfill" in self.failed:
            # The steps after it still run, on a backfill made by Kestra 1.x's route (2.0 has none).
            try:
                self.put_triggers_backfill()
                self.failed.discard("create_backfill")
            except Exception as exc:  # noqa: BLE001 - reported, and the steps after it are not run
                self.report("create_backfill_by_put_triggers", False, f"{type(exc).__name__}: {exc}")
        self.step("pause_backfill", ("create_backfill",), lambda: self._backfill_action("pause_backfill", True))
        self.step("unpause_backfill", ("create_backfill",), lambda: self._backfill_action("unpause_backfill", False))
        self.step("search_triggers", ("create_backfill",), self.search_triggers)
        self.step("search_executions", ("create_backfill",), self.search_executions)
        self.step("read_execution", ("create_backfill",), self.read_execution)
        self.step("list_logs", ("create_backfill",), self.list_logs)
        self.step("kill_execution", ("create_backfill",), self.kill_execution)
        self.step("delete_backfill", ("create_backfill",), lambda: self._backfill_action("delete_backfill", None))
        self.step("create_execution", ("create_flow",), self.create_execution)
        self.step("follow_execution", ("create_execution",), self.follow_execution)


if __name__ == "__main__":
    Driver(sys.argv[1], sys.argv[2]).run()
