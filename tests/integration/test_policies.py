"""Each function's IAM policy in template.yaml allows every AWS call its code makes. moto does not check
IAM, so this test records the calls of a run through every route, the executor and the scheduler, and
checks each against the policy of the function that made it: a missing permission fails here, not on AWS."""

import os
from datetime import UTC, datetime

import boto3
import pytest

from backfill_core import aws_clients
from local.aws_template import load_template
from tests.flows import backfill_body, flaky, ref
from tests.harness import store_bypassing_validation

WINDOW = ("2024-01-01T00:00:00Z", "2024-01-01T03:00:00Z")
# Kestra's read() in an expression: the executor reads the internal storage (here a file that is not there).
READER = """
id: reader
namespace: tests
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ read('kestra:///tests/reader/executions/' ~ execution.id ~ '/tasks/t/r/none.txt') }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
TOKEN = "policy-token"
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def resource_name(value) -> str:
    """`!GetAtt X.Arn` -> X; `!Sub "${X.Arn}/index/I"` -> X/index/I; `!Ref X` (a secret's ARN) -> X."""
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return (target if isinstance(target, str) else ".".join(target)).removesuffix(".Arn")
    if isinstance(value, dict) and "Fn::Sub" in value:
        return value["Fn::Sub"].replace("${", "").replace(".Arn}", "")
    raise AssertionError(f"unexpected resource {value}")


def allowed(function: str) -> set[tuple[str, str]]:
    """The function's own Policies, and each AWS::IAM::Policy attached to its role (SAM names it <function>Role)."""
    resources = load_template()["Resources"]
    policies = list(resources[function]["Properties"]["Policies"])
    policies += [
        r["Properties"]["PolicyDocument"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": f"{function}Role"} in r["Properties"]["Roles"]
    ]
    pairs = set()
    for policy in policies:
        for statement in policy["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in statement["Action"]:
                pairs |= {(action, resource_name(r)) for r in resources}
    return pairs


class Recorder:
    """Notes (function, action, resource) for each DynamoDB and SQS call, by the function now running."""

    def __init__(
        self, tables: dict[str, str], queues: dict[str, str], buckets: dict[str, str], secrets: dict[str, str]
    ):
        self.tables, self.queues, self.buckets, self.secrets = tables, queues, buckets, secrets
        self.function = "ApiFunction"
        self.calls: set[tuple[str, str, str]] = set()

    def __call__(self, model, params, **_):
        service = model.service_model.service_name
        if service == "lambda":
            self.calls.add((self.function, f"lambda:{model.name}Function", params["FunctionName"]))
        elif service == "s3" and model.name == "ListObjectsV2":
            self.calls.add((self.function, "s3:ListBucket", self.buckets[params["Bucket"]]))
        elif service == "s3":
            bucket = self.buckets[params["Bucket"]]
            keys = [params["Key"]] if "Key" in params else [o["Key"] for o in params["Delete"]["Objects"]]
            action = "s3:DeleteObject" if model.name == "DeleteObjects" else f"s3:{model.name}"
            self.calls |= {(self.function, action, f"{bucket}/{key.split('/', 1)[0]}/*") for key in keys}
        elif service == "secretsmanager":
            self.calls.add((self.function, f"secretsmanager:{model.name}", self.secrets[params["SecretId"]]))
        elif service == "sqs":
            queue = self.queues[params["QueueUrl"]]
            action = "SendMessage" if model.name.startswith("SendMessage") else model.name
            self.calls.add((self.function, f"sqs:{action}", queue))
        elif model.name == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, request),) = item.items()
                self.calls.add((self.function, f"dynamodb:{TRANSACT_ACTIONS[kind]}", self.tables[request["TableName"]]))
        elif model.name in ("BatchWriteItem", "BatchGetItem"):
            for table in params["RequestItems"]:
                self.calls.add((self.function, f"dynamodb:{model.name}", self.tables[table]))
        else:
            table = self.tables[params["TableName"]]
            if params.get("IndexName"):
                table += f"/index/{params['IndexName']}"
            self.calls.add((self.function, f"dynamodb:{model.name}", table))


@pytest.fixture
def recorder(stack, set_setting):
    """With the API token required, so its read is checked too."""
    stack.resources.create_api_token_secret(boto3.client("secretsmanager"), TOKEN)
    set_setting("API_TOKEN_SECRET", stack.resources.function_environment("ApiFunction")["API_TOKEN_SECRET"])
    tables = {
        os.environ[var]: logical
        for var, logical in (
            ("FLOWS_TABLE", "FlowsTable"),
            ("TRIGGERS_TABLE", "TriggersTable"),
            ("EXECUTIONS_TABLE", "ExecutionsTable"),
        )
    }
    queues = {url: name for name, url in stack.resources.queue_urls.items()}
    buckets = {os.environ["EXECUTION_FILES_BUCKET"]: "ExecutionFilesBucket"}
    secrets = {arn: name for name, arn in stack.resources.secret_arns.items()}
    recording = Recorder(tables, queues, buckets, secrets)
    clients = (
        aws_clients.dynamodb(),
        aws_clients.sqs(),
        aws_clients.s3(),
        aws_clients.lambda_client(),
        aws_clients.secrets().client,
    )
    for client in clients:
        client.meta.events.register("provide-client-params.*.*", recording)
    yield recording
    for client in clients:
        client.meta.events.unregister("provide-client-params.*.*", recording)


def test_every_call_of_every_function_is_allowed_by_its_policy(stack, recorder, tmp_path, set_setting):
    def api(method, path, body=None, content_type="application/json"):
        recorder.function = "ApiFunction"
        return stack.call(method, path, body, content_type, headers={"X-Api-Token": TOKEN})

    def executor():
        recorder.function = "ExecutorFunction"
        stack.drain()

    def scheduler():
        recorder.function = "SchedulerFunction"
        from tests.integration.test_events import call_scheduler

        minute = datetime.now(UTC).replace(second=0, microsecond=0).isoformat().replace("+00:00", "Z")
        call_scheduler(stack, {"scheduledTime": minute})

    flow = flaky(str(tmp_path / "fixed")).replace('cron: "0 * * * *"', 'cron: "0 * * * *"\n    stopAfter: [KILLED]')
    assert api("POST", "/api/v1/flows", flow, "application/x-yaml").status == 200
    assert api("PUT", "/api/v1/flows/tests/flaky", flow, "application/x-yaml").status == 200
    assert api("GET", "/api/v1/flows/tests").status == 200
    assert api("POST", "/api/v1/backfills/dry-run", backfill_body("flaky", *WINDOW, reprocess="failed")).status == 200
    first = api("PUT", "/api/v1/triggers", backfill_body("flaky", *WINDOW)).body["backfill"]["id"]
    assert api("POST", "/api/v1/flows", READER, "application/x-yaml").status == 200
    assert api("PUT", "/api/v1/triggers", backfill_body("reader", WINDOW[0], WINDOW[0])).status == 200
    executor()
    second = api("PUT", "/api/v1/triggers", backfill_body("flaky", *WINDOW, reprocess="failed", maxFailures=1))
    assert second.status == 200, second.raw
    second = second.body["backfill"]["id"]
    executor()  # one slot fails again: the failure policy pauses it
    for method, path, body in (
        ("GET", "/api/v1/backfills?namespace=tests", None),
        ("GET", f"/api/v1/backfills/{first}", None),
        ("GET", f"/api/v1/backfills/{first}/slots", None),
        ("POST", f"/api/v1/backfills/{second}/retry-failed", None),
        ("PATCH", f"/api/v1/backfills/{second}", {"concurrency": 2}),
        ("PUT", "/api/v1/triggers/backfill/pause", ref("flaky")),
        ("PUT", "/api/v1/triggers/backfill/unpause", ref("flaky")),
        ("GET", "/api/v1/triggers/search?namespace=tests", None),
        ("GET", "/api/v1/executions/search?namespace=tests", None),
    ):
        assert api(method, path, body).status == 200, (method, path)
    execution = api("GET", "/api/v1/executions/search?namespace=tests").body["results"][0]["id"]
    assert api("GET", f"/api/v1/logs/{execution}").status == 200
    flow_id = api("GET", f"/api/v1/executions/{execution}").body["flowId"]
    file = f"kestra:///tests/{flow_id}/executions/{execution}/tasks/t/r/a.txt"  # none there: still read
    assert api("GET", f"/api/v1/executions/{execution}/file?path={file}").status == 404
    assert api("DELETE", f"/api/v1/executions/{execution}/kill").status == 202
    by_hand = api("POST", "/api/v1/executions/tests/flaky", {}).body["id"]  # fails: it has no trigger.date
    executor()
    assert api("POST", f"/api/v1/executions/{by_hand}/replay").status == 200
    assert api("POST", f"/api/v1/executions/{by_hand}/restart").status == 200
    executor()
    assert api("GET", f"/api/v1/executions/{by_hand}/follow").status == 200
    assert api("GET", "/api/v1/logs/search?namespace=tests").status == 200
    key = f"files/main/tests/flaky/executions/{by_hand}/tasks/t/r/a.txt"
    boto3.client("s3").put_object(Bucket=os.environ["EXECUTION_FILES_BUCKET"], Key=key, Body=b"a")
    assert api("DELETE", f"/api/v1/executions/{by_hand}").status == 204
    assert api("POST", f"/api/v1/backfills/{second}/cancel", {"kill": True}).status == 200
    set_setting("SLOT_RESEND_SECONDS", "0")
    set_setting("EXECUTION_MESSAGE_GRACE_SECONDS", "0")
    assert api("POST", "/api/v1/executions/tests/flaky", {}).status == 200  # overdue at once: the watchdog queues it
    third = api("PUT", "/api/v1/triggers", backfill_body("flaky", "2024-01-02T00:00:00Z", "2024-01-02T01:00:00Z"))
    assert third.status == 200
    earlier = "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\ntriggers:\n"
    schedule = "  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '0 * * * *'\n"
    store_bypassing_validation(stack, "earlier", earlier + schedule)
    scheduler()  # live ticks, the watchdog, and the listing of a flow an earlier release stored
    executor()
    assert api("PUT", "/api/v1/triggers", {**ref("flaky"), "disabled": True}).status == 200
    assert api("POST", "/api/v1/triggers/backfill/delete/by-query?namespace=tests").status == 200
    assert api("DELETE", "/api/v1/flows/tests/flaky").status == 204

    denied = sorted(
        (function, action, resource)
        for function, action, resource in recorder.calls
        if (action, resource) not in allowed(function)
    )
    assert denied == [], "\n".join(map(str, denied))
    assert {f for f, _, _ in recorder.calls} == {"ApiFunction", "ExecutorFunction", "SchedulerFunction"}
    assert ("ExecutorFunction", "lambda:InvokeFunction", "TaskRunnerFunction") in recorder.calls
    assert ("ApiFunction", "secretsmanager:GetSecretValue", "ApiTokenSecret") in recorder.calls
    assert ("ExecutorFunction", "s3:GetObject", "ExecutionFilesBucket/files/*") in recorder.calls  # read()
    assert ("ApiFunction", "s3:GetObject", "ExecutionFilesBucket/files/*") in recorder.calls  # the file route
    assert ("ApiFunction", "s3:DeleteObject", "ExecutionFilesBucket/files/*") in recorder.calls  # a deletion
    assert ("SchedulerFunction", "dynamodb:UpdateItem", "ExecutionsTable") in recorder.calls  # a run queued again
    assert ("SchedulerFunction", "dynamodb:ConditionCheckItem", "FlowsTable") in recorder.calls  # a flow listed
