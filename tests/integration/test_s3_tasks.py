"""Kestra's AWS S3 tasks through the executor and the local task runner, against moto: Upload of a script's
output file, List, Copy (with delete), Download into the internal storage and back into a script, Delete;
credentials or an endpoint given by the flow refused at registration; and the Done-when backfill: a daily flow
writing its partition date into an S3 key, a first attempt failing and retried, 31 days, 31 objects, none twice."""

import json

import boto3
import pytest
from moto.moto_api import recorder

from local.task_runner import RUNNER_ACCESS_KEY_ID
from tests.flows import backfill_body
from tests.harness import logs_of, run_one

SLOT = "2024-01-01T00:00:00Z"
BUCKET = "team-data"
DAILY = """
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 0 * * *"
"""


def register(stack, source: str):
    return stack.call("POST", "/api/v1/flows", source, "application/x-yaml")


@pytest.fixture
def bucket(stack):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def outputs_by_task(execution: dict) -> dict[str, dict]:
    return {run["taskId"]: run.get("outputs") or {} for run in execution["taskRunList"]}


ROUND_TRIP = (
    f"""
id: s3-round-trip
namespace: company.team
tasks:
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: [report.csv]
    commands:
      - printf 'day,{{{{ trigger.date | date("yyyy-MM-dd") }}}}\\n' > report.csv
  - id: upload
    type: io.kestra.plugin.aws.s3.Upload
    region: us-east-1
    bucket: {BUCKET}
    key: "reports/{{{{ trigger.date | date('yyyy-MM-dd') }}}}.csv"
    from: "{{{{ outputs.write.outputFiles['report.csv'] }}}}"
    contentType: text/csv
    metadata:
      source: kestra
  - id: list
    type: io.kestra.plugin.aws.s3.List
    bucket: {BUCKET}
    prefix: reports/
  - id: copy
    type: io.kestra.plugin.aws.s3.Copy
    from:
      bucket: {BUCKET}
      key: "{{{{ outputs.upload.key }}}}"
    to:
      bucket: {BUCKET}
      key: archive/report.csv
    delete: true
  - id: download
    type: io.kestra.plugin.aws.s3.Download
    bucket: {BUCKET}
    key: archive/report.csv
  - id: read
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      got.csv: "{{{{ outputs.download.uri }}}}"
    commands:
      - cat got.csv
  - id: delete
    type: io.kestra.plugin.aws.s3.Delete
    bucket: {BUCKET}
    key: archive/report.csv
"""
    + DAILY
)


def test_upload_list_copy_download_and_delete_with_the_task_runners_role(stack, bucket):
    assert register(stack, ROUND_TRIP).status == 200
    execution = run_one(stack, "s3-round-trip", SLOT)
    logs = logs_of(stack, execution)
    assert execution["state"]["current"] == "SUCCESS", logs
    outputs = outputs_by_task(execution)
    assert outputs["upload"]["bucket"] == BUCKET and outputs["upload"]["key"] == "reports/2024-01-01.csv"
    assert [item["key"] for item in outputs["list"]["objects"]] == ["reports/2024-01-01.csv"]
    assert outputs["copy"]["key"] == "archive/report.csv"
    assert outputs["download"]["uri"].startswith(f"kestra:///company/team/s3-round-trip/executions/{execution['id']}/")
    assert outputs["download"]["contentType"] == "text/csv" and outputs["download"]["metadata"] == {"source": "kestra"}
    assert "day,2024-01-01" in logs
    assert bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0  # copied with delete, then deleted


@pytest.mark.parametrize(
    "line",
    ["accessKeyId: AKIA", "secretKeyId: s", "sessionToken: t", "stsRoleArn: arn:r", "endpointOverride: x"],
)
def test_credentials_or_an_endpoint_from_the_flow_are_refused(stack, line):
    source = f"""
id: s3-own-credentials
namespace: company.team
tasks:
  - id: list
    type: io.kestra.plugin.aws.s3.List
    bucket: {BUCKET}
    {line}
"""
    answer = register(stack, source)
    name = line.split(":")[0]
    assert answer.status == 422
    assert f"tasks[0].{name}: not supported: AWS tasks use the task runner's own role" in answer.message


PARTITIONS = (
    f"""
id: daily-partitions
namespace: company.team
tasks:
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: [partition.txt]
    commands:
      - echo '{{{{ trigger.date | date("yyyy-MM-dd") }}}}' > partition.txt
  - id: upload
    type: io.kestra.plugin.aws.s3.Upload
    # The first attempt names a bucket that does not exist: it fails, and the retry writes the partition.
    bucket: "{{{{ taskrun.attemptsCount == 0 ? 'no-such-bucket' : '{BUCKET}' }}}}"
    key: "daily/{{{{ trigger.date | date('yyyy-MM-dd') }}}}.txt"
    from: "{{{{ outputs.write.outputFiles['partition.txt'] }}}}"
    retry:
      type: constant
      interval: PT0.1S
      maxAttempts: 2
"""
    + DAILY
)


def test_a_month_of_daily_partitions_backfilled_leaves_one_object_per_day(stack, bucket):
    bucket.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    assert register(stack, PARTITIONS).status == 200
    window = {**backfill_body("daily-partitions", "2024-01-01T00:00:00Z", "2024-01-31T00:00:00Z")}
    window |= {"namespace": "company.team", "triggerId": "every_hour"}
    assert stack.call("PUT", "/api/v1/triggers", window).status == 200
    stack.drain()
    executions = stack.executions(namespace="company.team", flowId="daily-partitions")
    assert len(executions) == 31
    assert {e["state"]["current"] for e in executions} == {"SUCCESS"}  # a retry that succeeds, as Kestra
    for execution in executions:
        upload = next(run for run in execution["taskRunList"] if run["taskId"] == "upload")
        assert [attempt["state"]["current"] for attempt in upload["attempts"]] == ["FAILED", "SUCCESS"]
    versions = bucket.list_object_versions(Bucket=BUCKET)["Versions"]
    keys = sorted(version["Key"] for version in versions)
    assert keys == [f"daily/2024-01-{day:02d}.txt" for day in range(1, 32)]  # one version each: none twice
    for day in (1, 15, 31):
        body = bucket.get_object(Bucket=BUCKET, Key=f"daily/2024-01-{day:02d}.txt")["Body"].read()
        assert body == f"2024-01-{day:02d}\n".encode()


def test_an_s3_task_calls_aws_with_the_task_runners_credentials_not_the_engines(stack, bucket, tmp_path):
    """moto records each request as it came: the upload is signed with the task runner's own key (its role's,
    on AWS), not the engine's, which the runner process never has."""
    flow = ROUND_TRIP.replace("id: s3-round-trip", "id: s3-signed").split("  - id: list")[0] + DAILY
    assert register(stack, flow).status == 200
    recorder._location = str(tmp_path / "requests.jsonl")
    recorder.reset_recording()
    recorder.start_recording()
    try:
        body = {**backfill_body("s3-signed", SLOT, SLOT), "namespace": "company.team"}
        assert stack.call("PUT", "/api/v1/triggers", body).status == 200
        stack.drain()
    finally:
        recorder.stop_recording()
    (execution,) = stack.executions(namespace="company.team", flowId="s3-signed")
    assert execution["state"]["current"] == "SUCCESS", logs_of(stack, execution)
    requests = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    uploads = [r for r in requests if r["method"] == "PUT" and "reports/2024-01-01.csv" in r["url"]]
    assert uploads
    for upload in uploads:
        credential = upload["headers"]["Authorization"].split("Credential=")[1].split("/")[0]
        assert credential == RUNNER_ACCESS_KEY_ID != boto3.client("s3")._request_signer._credentials.access_key


def test_several_files_go_up_under_a_prefix_and_come_down_by_prefix(stack, bucket):
    flow = (
        f"""
id: s3-several
namespace: company.team
tasks:
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: ["*.csv"]
    commands:
      - echo a > a.csv && echo b > b.csv
  - id: upload
    type: io.kestra.plugin.aws.s3.Upload
    bucket: {BUCKET}
    key: batch
    from: "{{{{ outputs.write.outputFiles }}}}"
  - id: download
    type: io.kestra.plugin.aws.s3.Download
    bucket: {BUCKET}
    prefix: batch/
  - id: read
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      b.csv: "{{{{ outputs.download.files['batch/b.csv'].uri }}}}"
    commands:
      - cat b.csv
"""
        + DAILY
    )
    assert register(stack, flow).status == 200
    execution = run_one(stack, "s3-several", SLOT)
    logs = logs_of(stack, execution)
    assert execution["state"]["current"] == "SUCCESS", logs
    outputs = outputs_by_task(execution)
    assert outputs["upload"]["key"] == "batch" and sorted(outputs["upload"]["files"]) == ["a.csv", "b.csv"]
    assert sorted(outputs["download"]["files"]) == ["batch/a.csv", "batch/b.csv"]
    assert "b" in logs


@pytest.mark.parametrize("task", ["list", "copy"])
def test_s3_tasks_cannot_reach_the_internal_storage_bucket_past_the_same_flow_rule(stack, bucket, task):
    """The task runner's role may read and write every flow's files/*: an S3 task naming that bucket would read
    another namespace's files or overwrite them, so it is refused; kestra:// URIs are the way in."""
    internal = stack.resources.bucket_name("ExecutionFilesBucket")
    spec = (
        f"    bucket: {internal}\n    prefix: files/"
        if task == "list"
        else f"    from:\n      bucket: {BUCKET}\n      key: x\n    to:\n      bucket: {internal}\n      key: files/x"
    )
    kind = "List" if task == "list" else "Copy"
    flow = (
        f"""
id: s3-internal-{task}
namespace: company.team
tasks:
  - id: reach
    type: io.kestra.plugin.aws.s3.{kind}
{spec}
"""
        + DAILY
    )
    assert register(stack, flow).status == 200
    execution = run_one(stack, f"s3-internal-{task}", SLOT)
    logs = logs_of(stack, execution)
    assert execution["state"]["current"] == "FAILED"
    assert any(f"'{internal}' holds Kestra's internal storage" in line for line in logs), logs
