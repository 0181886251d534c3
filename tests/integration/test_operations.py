"""Operations: a backfill's lifecycle events reach its EventBridge bus once per transition, in order, where a team's
rule routes them (here to an SQS queue, as a rule to Slack or email would be made); a publish that fails changes
nothing of the backfill; and the handlers emit the slot and backfill metrics as CloudWatch's EMF lines."""

import json
import re
from pathlib import Path

import boto3
import pytest

from backfill_core.settings import settings
from tests.flows import QUICK, backfill_body, ref

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
THREE_HOURS = ("2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z")
DAY = ("2024-01-01T00:00:00Z", "2024-01-01T10:00:00Z")  # 11 hourly slots: 5 odd hours


class RoutedEvents:
    """What a team's rule on the bus, matching every backfill event (README.md's pattern), delivers to a queue."""

    def __init__(self):
        self.sqs = boto3.client("sqs")
        self.url = self.sqs.create_queue(QueueName="team-backfill-events")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events")
        bus = settings().event_bus_name
        events.put_rule(Name="to-the-team", EventBusName=bus, EventPattern=json.dumps({"source": ["kestra.backfills"]}))
        events.put_targets(Rule="to-the-team", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
        self.seen: list[dict] = []

    def received(self) -> list[dict]:
        """Every event delivered so far, oldest first."""
        while True:
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return self.seen
            for message in got:
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def of(self, backfill_id: str) -> list[tuple[str, dict]]:
        return [(e["detail-type"], e["detail"]) for e in self.received() if e["detail"]["backfillId"] == backfill_id]

    def types(self, backfill_id: str) -> list[str]:
        return [kind for kind, _ in self.of(backfill_id)]


@pytest.fixture
def routed(stack) -> RoutedEvents:
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    return RoutedEvents()


def create(stack, flow_id: str, start: str, end: str, **extra) -> str:
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body(flow_id, start, end, **extra))
    assert answer.status == 200, answer.raw
    return answer.body["backfill"]["id"]


def emitted(captured: str) -> list[dict]:
    """The EMF documents among the lines the handlers printed."""
    documents = []
    for line in captured.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def metric_values(documents: list[dict], name: str, service: str | None = None) -> list[float]:
    values: list[float] = []
    for document in documents:
        declared = {m["Name"] for d in document["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
        if name in declared and (service is None or document.get("service") == service):
            value = document[name]
            values += value if isinstance(value, list) else [value]
    return values


def test_a_backfill_publishes_created_then_succeeded_with_its_counts(stack, routed):
    backfill_id = create(stack, "quick", *THREE_HOURS)
    assert routed.types(backfill_id) == ["Backfill Created"]
    stack.drain()
    events = routed.of(backfill_id)
    assert [kind for kind, _ in events] == ["Backfill Created", "Backfill Succeeded"]
    created, succeeded = events[0][1], events[1][1]
    assert created["event"] == "created" and (created["total"], created["succeeded"]) == (3, 0)
    assert (created["namespace"], created["flowId"], created["triggerId"]) == ("tests", "quick", "every_hour")
    assert succeeded["event"] == "succeeded" and (succeeded["succeeded"], succeeded["failed"]) == (3, 0)
    assert all(e["source"] == "kestra.backfills" for e in routed.received())


def test_pause_and_unpause_publish_once_each_and_a_repeated_pause_publishes_nothing(stack, routed):
    backfill_id = create(stack, "quick", *DAY)
    assert stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick")).status == 200
    assert stack.call("PATCH", f"/api/v1/backfills/{backfill_id}", {"paused": True}).status == 200  # already paused
    stack.drain()  # the slot sent before the pause is parked
    assert routed.types(backfill_id) == ["Backfill Created", "Backfill Paused"]
    assert routed.of(backfill_id)[1][1]["reason"] is None  # a person paused it
    assert stack.call("PUT", "/api/v1/triggers/backfill/unpause", ref("quick")).status == 200
    stack.drain()
    assert routed.types(backfill_id) == [
        "Backfill Created",
        "Backfill Paused",
        "Backfill Resumed",
        "Backfill Succeeded",
    ]


def test_a_cancel_publishes_cancelled_and_no_end_besides(stack, routed):
    backfill_id = create(stack, "quick", *DAY)
    assert stack.call("POST", f"/api/v1/backfills/{backfill_id}/cancel").status == 200
    stack.drain()
    assert routed.types(backfill_id) == ["Backfill Created", "Backfill Cancelled"]
    assert routed.of(backfill_id)[1][1]["cancelled"] == 11


def test_max_failures_publishes_paused_with_its_reason_and_the_end_failed(flaky_flow):
    stack, routed = flaky_flow, RoutedEvents()
    backfill_id = create(stack, "flaky", *DAY, maxFailures=2)
    stack.drain()
    assert stack.backfill(backfill_id)["paused"] is True
    events = routed.of(backfill_id)
    assert [kind for kind, _ in events] == ["Backfill Created", "Backfill Paused"]
    assert events[1][1]["reason"].startswith("maxFailures: 2 slots failed") and events[1][1]["failed"] == 2
    # Failed at 01:00 and 03:00; after an unpause maxFailures counts anew: 05:00 and 07:00 pause it again, and
    # after the next one 09:00 alone does not, so it ends FAILED.
    for _ in range(2):
        assert stack.call("PUT", "/api/v1/triggers/backfill/unpause", ref("flaky")).status == 200
        stack.drain()
    kinds = routed.types(backfill_id)
    assert kinds == ["Backfill Created"] + ["Backfill Paused", "Backfill Resumed"] * 2 + ["Backfill Failed"]
    assert routed.of(backfill_id)[-1][1]["failed"] == 5


def test_a_failing_publish_changes_nothing_of_the_backfill(stack, routed, set_setting):
    set_setting("BACKFILL_EVENT_BUS", "no-such-bus")
    backfill_id = create(stack, "quick", *THREE_HOURS)
    assert stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick")).status == 200
    assert stack.call("PUT", "/api/v1/triggers/backfill/unpause", ref("quick")).status == 200
    stack.drain()
    done = stack.backfill(backfill_id)
    assert (done["status"], done["succeeded"]) == ("SUCCEEDED", 3)
    assert len(stack.executions(namespace="tests", flowId="quick")) == 3
    assert routed.received() == []  # nothing reached the team's bus


def test_the_handlers_emit_slot_and_backfill_metrics(flaky_flow, capsys):
    stack = flaky_flow
    backfill_id = create(stack, "flaky", "2024-01-01T00:00:00Z", "2024-01-01T03:00:00Z")
    stack.drain()
    assert stack.backfill(backfill_id)["status"] == "FAILED"
    documents = emitted(capsys.readouterr().out)
    assert all(d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "KestraBackfills" for d in documents)
    # The executor's batches hold several slots: a document may carry several values of a metric.
    assert sum(metric_values(documents, "SlotsSucceeded", "executor")) == 2
    assert sum(metric_values(documents, "SlotsFailed", "executor")) == 2
    assert len(metric_values(documents, "SlotDuration", "executor")) == 4
    lags = metric_values(documents, "DispatchLag", "executor")
    assert len(lags) == 4 and all(0 <= lag < 60 for lag in lags)
    assert metric_values(documents, "BackfillsCreated", "api") == [1]
    assert metric_values(documents, "BackfillsEnded") == [1]
    slot_lines = [d for d in documents if "SlotsSucceeded" in d or "SlotsFailed" in d]
    assert {d["backfill_id"] for d in slot_lines} == {backfill_id}


def test_disabling_the_trigger_pauses_with_its_reason_and_enabling_it_resumes(stack, routed):
    backfill_id = create(stack, "quick", *DAY)
    assert stack.call("PUT", "/api/v1/triggers/set-disabled", {**ref("quick"), "disabled": True}).status == 200
    stack.drain()
    assert routed.types(backfill_id) == ["Backfill Created", "Backfill Paused"]
    assert routed.of(backfill_id)[1][1]["reason"] == "trigger disabled"
    assert stack.call("PUT", "/api/v1/triggers/set-disabled", {**ref("quick"), "disabled": False}).status == 200
    stack.drain()
    assert routed.types(backfill_id) == [
        "Backfill Created",
        "Backfill Paused",
        "Backfill Resumed",
        "Backfill Succeeded",
    ]


def test_skipped_slots_are_counted_without_a_duration(stack, routed, capsys):
    create(stack, "quick", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z")
    stack.drain()
    capsys.readouterr()
    backfill_id = create(stack, "quick", *THREE_HOURS, reprocess="missing")  # 00:00 and 01:00 ran already
    stack.drain()
    assert stack.backfill(backfill_id)["skipped"] == 2
    documents = emitted(capsys.readouterr().out)
    assert sum(metric_values(documents, "SlotsSkipped", "executor")) == 2
    assert sum(metric_values(documents, "SlotsSucceeded", "executor")) == 1
    assert len(metric_values(documents, "SlotDuration", "executor")) == 1
    assert routed.types(backfill_id) == ["Backfill Created", "Backfill Succeeded"]


def test_the_readmes_rule_pattern_routes_failures_and_pauses_only(flaky_flow):
    (pattern,) = re.findall(r"```json\n(\{\n  \"source\": \[\"kestra.backfills\"\].*?)```", README, re.DOTALL)
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="needs-a-look")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = settings().event_bus_name
    events.put_rule(Name="needs-a-look", EventBusName=bus, EventPattern=pattern)
    events.put_targets(Rule="needs-a-look", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    stack = flaky_flow
    # The README's pattern matches the namespaces under company: the flaky flow's copy there, and tests' for contrast.
    flaky = stack.call("GET", "/api/v1/flows/tests/flaky").body["source"]
    copied = flaky.replace("namespace: tests", "namespace: company.team")
    assert stack.call("POST", "/api/v1/flows", copied, "application/x-yaml").status == 200
    for namespace in ("company.team", "tests"):
        body = {**backfill_body("flaky", *THREE_HOURS, maxFailures=1), "namespace": namespace}
        assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    routed = [(json.loads(m["Body"])["detail-type"], json.loads(m["Body"])["detail"]["namespace"]) for m in got]
    assert routed == [("Backfill Paused", "company.team")]  # not its creation, nor the tests namespace's pause
