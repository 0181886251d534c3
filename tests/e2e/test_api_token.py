"""The local stack with BACKFILL_API_TOKEN set: curl and requests without the token get 401. The token goes in
X-Api-Token (beside SigV4 on AWS); Kestra's clients' `Authorization: Bearer` works here, where IAM is not used."""

import json
import subprocess

import requests

from tests.e2e.conftest import API_TOKEN as TOKEN


def test_the_token_is_required_over_http(guarded_stack):
    url = f"{guarded_stack.url}/api/v1/triggers/search?namespace=dev"
    assert "X-Api-Token (BACKFILL_API_TOKEN)" in guarded_stack.output()
    refused = requests.get(url, timeout=10)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert "X-Api-Token" in refused.json()["message"]
    assert requests.get(url, headers={"X-Api-Token": TOKEN}, timeout=10).status_code == 200
    for header in (f"X-Api-Token: {TOKEN}", f"Authorization: Bearer {TOKEN}"):
        done = subprocess.run(
            ["curl", "-s", "-w", "\n%{http_code}", "-H", header, url], capture_output=True, text=True, timeout=30
        )
        body, status = done.stdout.rsplit("\n", 1)
        assert status == "200" and json.loads(body)["total"] == 1, header
    done = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url], capture_output=True, text=True)
    assert done.stdout == "401"
