"""Schemathesis fuzzes every route of the OpenAPI document the local stack serves, valid and invalid
requests alike: none may get a 5xx, every 4xx must say what is wrong in Kestra's `{"message"}`, and a
refused request must leave the tables and queues exactly as they were (a dump through moto compares)."""

import json
import re

import boto3
import pytest
import schemathesis

from local.moto_gate import carry_key
from local.stack import KEY_FILE
from tests.e2e.conftest import start_stack

# Deterministic generation from a fixed seed: a failure found once is found again by the same run.
FUZZ_CONFIG = {
    "seed": 20240328,
    "generation": {"max-examples": 25, "deterministic": True},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True}},
    "suppress-health-check": ["all"],
    "request-timeout": 30,
    "cache": {"enabled": False},
}


class ObservedState:
    """Everything a request could change: each DynamoDB table's items and each queue's message count."""

    def __init__(self, moto_url: str, key: str):
        session = {"endpoint_url": moto_url, "region_name": "us-east-1"}
        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        self.dynamodb = boto3.client("dynamodb", **session, **credentials)
        self.sqs = boto3.client("sqs", **session, **credentials)
        for client in (self.dynamodb, self.sqs):  # moto answers only requests with the stack's key
            carry_key(client, key)
        self.last = self.dump()

    def dump(self) -> dict:
        state = {}
        for table in self.dynamodb.list_tables()["TableNames"]:
            items = [
                json.dumps(item, sort_keys=True)
                for page in self.dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
                for item in page["Items"]
            ]
            state[table] = sorted(items)
        for url in self.sqs.list_queues().get("QueueUrls", []):
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            state[url.rsplit("/", 1)[-1]] = attributes
        return state


@pytest.fixture(scope="module")
def fuzzed_stack(tmp_path_factory):
    # The scheduler does not tick during the run, so a change in the tables can only be a request's doing.
    stack = start_stack(tmp_path_factory, None, "--scheduler-interval", "999999")
    yield stack
    if stack.process.poll() is None:
        assert stack.interrupt() == 0, stack.output()


@pytest.fixture(scope="module")
def observed(fuzzed_stack) -> ObservedState:
    moto_url = re.search(r"moto \(DynamoDB, SQS\)\s+(\S+)", fuzzed_stack.output()).group(1)
    state = ObservedState(moto_url, (fuzzed_stack.state_dir / KEY_FILE).read_text())
    assert state.last["FlowsTable"], "the example flows are loaded, so the fuzzing meets real data"
    return state


@pytest.fixture(scope="module")
def api_schema(fuzzed_stack):
    config = schemathesis.Config.from_dict(FUZZ_CONFIG)
    return schemathesis.openapi.from_url(f"{fuzzed_stack.url}/api/v1/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_fuzzed_requests_are_answered_clearly_and_refusals_change_nothing(case, observed):
    response = case.call()
    request = case.as_curl_command()
    assert response.status_code < 500, f"{response.status_code} {response.text}\n{request}"
    if response.status_code >= 400:
        assert response.headers.get("content-type", [""])[0].startswith("application/json"), request
        message = response.json().get("message")
        assert isinstance(message, str) and message.strip(), f"{response.text}\n{request}"
        assert observed.dump() == observed.last, f"a refused request changed the state\n{request}"
    else:
        observed.last = observed.dump()
