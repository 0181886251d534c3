"""A flow's secret('NAME') reads its namespace's Secrets Manager secret (or a parent namespace's) and the value
is masked in the execution's logs as Kestra masks it; a missing one fails the task naming it. `envs.*` holds the
executor's ENV_ variables only: never its AWS credentials nor its other variables."""

import json

import boto3
import pytest

from backfill_core.settings import Settings
from local.aws_template import load_template, resources_of_type

PASSWORD = "hunter2-correct-horse"  # 21 characters: Kestra shows **masked* and 12 more stars
MASKED = "**masked*" + "*" * 12


def flow(flow_id: str, namespace: str, tasks: str) -> str:
    return (
        f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n{tasks}"
        "triggers:\n  - id: every_hour\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '0 * * * *'\n"
    )


def run_once(stack, source: str, namespace: str, flow_id: str) -> tuple[dict, list[dict]]:
    assert stack.call("POST", "/api/v1/flows", source, "application/x-yaml").status == 200
    body = {"namespace": namespace, "flowId": flow_id, "triggerId": "every_hour",
            "backfill": {"start": "2024-03-04T06:00:00Z", "end": "2024-03-04T06:00:00Z"}}  # fmt: skip
    answer = stack.call("PUT", "/api/v1/triggers", body)
    assert answer.status == 200, answer.raw
    stack.drain()
    [found] = stack.executions(namespace=namespace, flowId=flow_id)
    execution = stack.call("GET", f"/api/v1/executions/{found['id']}").body
    return execution, stack.call("GET", f"/api/v1/logs/{execution['id']}").body


@pytest.fixture
def secrets(aws):
    client = boto3.client("secretsmanager")
    client.create_secret(Name="kestra-flows/main/tests/DB_PASSWORD", SecretString=PASSWORD)
    client.create_secret(Name="kestra-flows/main/tests.team/TEAM_TOKEN", SecretString="team-only-token")
    client.create_secret(Name="kestra-flows/main/other/OTHER_TOKEN", SecretString="other-namespace-token")
    client.create_secret(Name="kestra-flows/acme/tests/TENANT_TOKEN", SecretString="another-tenant-token")
    return client


def test_a_secret_is_read_from_its_namespace_and_masked_in_every_log_line(stack, secrets):
    tasks = (
        "  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: \"pw={{ secret('DB_PASSWORD') }}\"\n"
        "  - id: echo\n    type: io.kestra.plugin.scripts.shell.Commands\n    taskRunner:\n"
        "      type: io.kestra.plugin.core.runner.Process\n"
        "    commands:\n      - echo \"from the shell {{ secret('DB_PASSWORD') }} done\"\n"
    )
    execution, logs = run_once(stack, flow("uses-secret", "tests.team.sub", tasks), "tests.team.sub", "uses-secret")
    assert execution["state"]["current"] == "SUCCESS"
    messages = [line["message"] for line in logs]
    assert f"pw={MASKED}" in messages
    assert any(f"from the shell {MASKED} done" in m for m in messages)
    assert PASSWORD not in json.dumps(logs) and PASSWORD not in json.dumps(execution)


def test_a_secret_is_read_and_masked_in_parallel_branches_which_run_in_threads(stack, secrets):
    branch = (
        "      - id: say{n}\n        type: io.kestra.plugin.core.log.Log\n"
        "        message: \"{n} {{{{ secret('DB_PASSWORD') }}}}\"\n"
    )
    tasks = "  - id: fan\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n" + "".join(
        branch.format(n=n) for n in range(3)
    )
    execution, logs = run_once(stack, flow("parallel-secret", "tests", tasks), "tests", "parallel-secret")
    assert execution["state"]["current"] == "SUCCESS", logs
    assert sorted(line["message"] for line in logs) == [f"{n} {MASKED}" for n in range(3)]


@pytest.mark.parametrize(
    "name", ["NOPE", "OTHER_TOKEN", "TENANT_TOKEN", "TEAM_TOKEN", "../other/OTHER_TOKEN"]
)  # another namespace's, another tenant's, a child namespace's, a path out of the namespace
def test_a_secret_the_namespace_cannot_reach_fails_the_task_naming_it(stack, secrets, name):
    tasks = f"  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: \"{{{{ secret('{name}') }}}}\"\n"
    execution, logs = run_once(stack, flow("missing-secret", "tests", tasks), "tests", "missing-secret")
    assert execution["state"]["current"] == "FAILED"
    errors = " ".join(line["message"] for line in logs if line["level"] == "ERROR")
    assert f"'{name}'" in errors
    assert "token" not in errors  # no value of any secret


def test_envs_holds_the_prefixed_variables_only(stack, monkeypatch):
    monkeypatch.setenv("ENV_WAREHOUSE", "analytics")
    monkeypatch.setenv("WAREHOUSE_PASSWORD", "not-for-flows")
    tasks = (
        "  - id: say\n    type: io.kestra.plugin.core.log.Log\n"
        "    message: \"{{ envs.warehouse }} {{ envs | json }} {{ envs.aws_secret_access_key ?? 'none' }}\"\n"
    )
    execution, logs = run_once(stack, flow("uses-envs", "tests", tasks), "tests", "uses-envs")
    assert execution["state"]["current"] == "SUCCESS"
    [message] = [line["message"] for line in logs if line["taskId"] == "say"]
    assert message == 'analytics {"warehouse":"analytics"} none'


def test_only_the_executor_may_read_flow_secrets_and_only_under_the_prefix():
    template = load_template()
    resources = template["Resources"]
    readers = {}
    documents = [  # a function's own policies, and those of a role given to a function (the task runner's)
        (name, policy)
        for name, function in resources_of_type(template, "AWS::Serverless::Function").items()
        for policy in function.get("Policies", [])
    ] + [
        (name, policy["PolicyDocument"])
        for name, role in resources_of_type(template, "AWS::IAM::Role").items()
        for policy in role.get("Policies", [])
    ]
    for name, document in documents:
        for statement in document["Statement"]:
            if "secretsmanager:GetSecretValue" in statement["Action"]:
                readers[name] = statement["Resource"]
    assert readers["ExecutorFunction"] == {
        "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${FlowSecretsPrefix}*"
    }
    assert {name for name, resource in readers.items() if "FlowSecretsPrefix" in str(resource)} == {"ExecutorFunction"}
    variables = resources["ExecutorFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["FLOW_SECRETS_PREFIX"] == {"Ref": "FlowSecretsPrefix"}
    assert (
        template["Parameters"]["FlowSecretsPrefix"]["Default"] == Settings.model_fields["flow_secrets_prefix"].default
    )
