"""BACKFILL_API_TOKEN: when set, the API handler refuses any call without that bearer token, on the local
stack and in the Lambda alike; unset, it leaves authentication to API Gateway (AWS_IAM)."""

import pytest

from tests.flows import QUICK, backfill_body

TOKEN = "s3cret-token"


@pytest.fixture
def guarded(stack, monkeypatch):
    monkeypatch.setenv("BACKFILL_API_TOKEN", TOKEN)
    return stack


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN])
def test_a_call_without_the_token_is_refused_and_changes_nothing(guarded, header):
    headers = {"Authorization": header} if header else {}
    answer = guarded.call("POST", "/api/v1/flows", QUICK, "application/x-yaml", headers=headers)
    assert answer.status == 401 and "bearer token" in answer.message
    listed = guarded.call("GET", "/api/v1/flows/tests", headers={"Authorization": f"Bearer {TOKEN}"})
    assert listed.status == 200 and listed.body == []


def test_the_token_opens_every_route_whatever_the_header_case(guarded):
    for name in ("Authorization", "authorization"):
        answer = guarded.call("GET", "/api/v1/triggers/search", headers={name: f"Bearer {TOKEN}"})
        assert answer.status == 200, answer.raw
    created = guarded.call(
        "POST", "/api/v1/flows", QUICK, "application/x-yaml", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert created.status == 200
    backfill = guarded.call(
        "PUT",
        "/api/v1/triggers",
        backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z"),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert backfill.status == 200, backfill.raw


def test_without_the_variable_the_api_is_open(stack):
    assert stack.call("GET", "/api/v1/triggers/search").status == 200


@pytest.mark.parametrize("body", [{"namespace": 3}, b"\xff\xfe", "x" * 200_000])
def test_a_call_without_the_token_learns_nothing_of_the_body_it_sent(guarded, body):
    """Refused before validation: an unauthenticated caller is told neither field names nor limits."""
    answer = guarded.call("PUT", "/api/v1/triggers", body)
    assert answer.status == 401 and "bearer token" in answer.message
