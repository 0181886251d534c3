"""The API token: with ApiTokenSecret in place (RequireApiToken on AWS, BACKFILL_API_TOKEN on the local stack),
the API handler refuses any call without its token; without it, authentication is API Gateway's (AWS_IAM)."""

import boto3
import pytest

from backfill_core import aws_clients
from tests.flows import QUICK, backfill_body

TOKEN = "s3cret-token"
# What a SigV4-signed call carries in Authorization on AWS (API Gateway checks it, then passes it on).
SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
)


@pytest.fixture
def guarded(stack, set_setting):
    """The API function's environment as the template gives it once the secret exists."""
    stack.resources.create_api_token_secret(boto3.client("secretsmanager"), TOKEN)
    set_setting("API_TOKEN_SECRET", stack.resources.function_environment("ApiFunction")["API_TOKEN_SECRET"])
    return stack


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Api-Token": "wrong"},
        {"X-Api-Token": f"Bearer {TOKEN}"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},
        {"Authorization": SIGV4},
    ],
)
def test_a_call_without_the_token_is_refused_and_changes_nothing(guarded, headers):
    answer = guarded.call("POST", "/api/v1/flows", QUICK, "application/x-yaml", headers=headers)
    assert answer.status == 401 and "X-Api-Token" in answer.message
    listed = guarded.call("GET", "/api/v1/flows/tests", headers={"X-Api-Token": TOKEN})
    assert listed.status == 200 and listed.body == []


def test_a_sigv4_signed_call_with_the_token_in_its_own_header_is_served(guarded):
    """The defect: the token shared `Authorization` with SigV4, so with both required no call could pass."""
    for name in ("X-Api-Token", "x-api-token"):
        answer = guarded.call("GET", "/api/v1/triggers/search", headers={"Authorization": SIGV4, name: TOKEN})
        assert answer.status == 200, answer.raw
    created = guarded.call(
        "POST", "/api/v1/flows", QUICK, "application/x-yaml", headers={"Authorization": SIGV4, "X-Api-Token": TOKEN}
    )
    assert created.status == 200, created.raw


def test_kestra_clients_bearer_header_opens_every_route(guarded):
    """kestrapy's access_token and Kestra's curl lines send `Authorization: Bearer`: taken where IAM is not used."""
    created = guarded.call(
        "POST", "/api/v1/flows", QUICK, "application/x-yaml", headers={"authorization": f"Bearer {TOKEN}"}
    )
    assert created.status == 200
    backfill = guarded.call(
        "PUT",
        "/api/v1/triggers",
        backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z"),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert backfill.status == 200, backfill.raw


def test_the_token_is_read_from_secrets_manager_once_per_environment(guarded):
    reads = []
    client = aws_clients.secrets().client
    client.meta.events.register("before-call.secrets-manager.GetSecretValue", lambda **_: reads.append(1))
    for _ in range(3):
        assert guarded.call("GET", "/api/v1/triggers/search", headers={"X-Api-Token": TOKEN}).status == 200
    assert guarded.call("GET", "/api/v1/triggers/search", headers={"X-Api-Token": "wrong"}).status == 401
    assert len(reads) == 1


def test_a_token_that_cannot_be_read_is_a_503_that_lets_nothing_through(stack, set_setting):
    set_setting("API_TOKEN_SECRET", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf")
    answer = stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml", headers={"X-Api-Token": TOKEN})
    assert answer.status == 503 and "retry" in answer.message
    set_setting("API_TOKEN_SECRET", None)
    assert stack.call("GET", "/api/v1/flows/tests").body == []


def test_without_the_secret_the_api_is_open(stack):
    assert stack.call("GET", "/api/v1/triggers/search").status == 200


@pytest.mark.parametrize("body", [{"namespace": 3}, b"\xff\xfe", "x" * 200_000])
def test_a_call_without_the_token_learns_nothing_of_the_body_it_sent(guarded, body):
    """Refused before validation: an unauthenticated caller is told neither field names nor limits."""
    answer = guarded.call("PUT", "/api/v1/triggers", body)
    assert answer.status == 401 and "X-Api-Token" in answer.message
