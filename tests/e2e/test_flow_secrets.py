"""On the local stack, a flow's secret('NAME') reads moto's Secrets Manager, filled from secrets.json in the
state directory at start, and `envs.*` the stack's ENV_ variables; the secret is masked in the logs."""

import json

import requests

from tests.e2e.conftest import RunningStack, free_port

FLOW = """id: local-secret
namespace: company.team
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "{{ envs.warehouse }} pw={{ secret('DB_PASSWORD') }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def test_secrets_json_fills_secrets_manager_and_the_value_is_masked(tmp_path, monkeypatch):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "secrets.json").write_text(json.dumps({"main/company/DB_PASSWORD": "local-pass-123"}))
    monkeypatch.setenv("ENV_WAREHOUSE", "analytics")
    stack = RunningStack(free_port(), tmp_path / "stack.log", state_dir=state)
    try:
        assert "flow secrets         1 " in stack.output()
        registered = requests.post(
            f"{stack.url}/api/v1/flows", data=FLOW, headers={"Content-Type": "application/x-yaml"}, timeout=30
        )
        assert registered.status_code == 200, registered.text
        body = {"namespace": "company.team", "flowId": "local-secret", "triggerId": "every_hour",
                "backfill": {"start": "2024-03-04T06:00:00Z", "end": "2024-03-04T06:00:00Z"}}  # fmt: skip
        assert requests.put(f"{stack.url}/api/v1/triggers", json=body, timeout=30).status_code == 200
        [execution] = stack.wait_for(
            lambda: [
                e
                for e in stack.backfills(namespace="company.team", flowId="local-secret")
                if e["state"]["current"] == "SUCCESS"
            ],
            60,
            "the execution to succeed",
        )
        logs = stack.get(f"/api/v1/logs/{execution['id']}")
        assert [line["message"] for line in logs] == ["analytics pw=**masked*" + "*" * 5]  # 14 characters
    finally:
        assert stack.interrupt() == 0, stack.output()
