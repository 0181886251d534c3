"""The `backfill` command line's reading of what a person types and its display of a backfill, without a server:
flow references, KEY=VALUE pairs, the trigger it picks, the request body, the API's URLs, the progress view."""

from datetime import UTC, datetime

import pytest
from rich.console import Console

from backfill_cli.arguments import BadArgument, backfill_body, backfill_trigger, flow_candidates, key_values
from backfill_cli.client import ApiClient, ApiError
from backfill_cli.display import done_of, eta_text, progress_view, states_text
from backfill_cli.signing import SigningUnavailable, SigV4Signer, is_aws_url, region_in_url

SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"


def test_a_flow_reference_splits_at_the_last_dot_first():
    assert flow_candidates("dev.scheduled_flow") == [("dev", "scheduled_flow")]
    assert flow_candidates("company.team.daily.v2") == [
        ("company.team.daily", "v2"),
        ("company.team", "daily.v2"),
        ("company", "team.daily.v2"),
    ]
    assert flow_candidates("company.team/daily.v2") == [("company.team", "daily.v2")]


@pytest.mark.parametrize("reference", ["scheduled_flow", ".flow", "dev.", "dev/", "/flow", "a/b/c"])
def test_a_flow_reference_without_both_parts_is_refused_naming_flow(reference):
    with pytest.raises(BadArgument, match="^FLOW: "):
        flow_candidates(reference)


def test_key_values_keep_equals_in_values_and_refuse_what_is_not_a_pair():
    assert key_values(["reason=outage", "query=a=b", "empty="], "--label") == {
        "reason": "outage",
        "query": "a=b",
        "empty": "",
    }
    with pytest.raises(BadArgument, match="^--label: 'reason' is not KEY=VALUE"):
        key_values(["reason"], "--label")
    with pytest.raises(BadArgument, match="^--input: '=x' is not KEY=VALUE"):
        key_values(["=x"], "--input")
    with pytest.raises(BadArgument, match="^--label: 'a' is given twice"):
        key_values(["a=1", "a=2"], "--label")


def flow(*triggers: tuple[str, str]) -> dict:
    return {"namespace": "dev", "id": "f", "triggers": [{"id": i, "type": t} for i, t in triggers]}


def test_the_only_schedule_trigger_is_taken_when_none_is_named():
    assert backfill_trigger(flow(("schedule", SCHEDULE), ("hook", "io.kestra.plugin.core.trigger.Webhook")), None) == (
        "schedule"
    )
    assert backfill_trigger(flow(("old", "io.kestra.core.models.triggers.types.Schedule")), None) == "old"


def test_several_schedule_triggers_and_none_named_is_refused_listing_them():
    with pytest.raises(BadArgument) as refused:
        backfill_trigger(flow(("hourly", SCHEDULE), ("daily", SCHEDULE)), None)
    assert str(refused.value) == "TRIGGER: dev.f has 2 Schedule triggers (hourly, daily); name one"
    assert backfill_trigger(flow(("hourly", SCHEDULE), ("daily", SCHEDULE)), "daily") == "daily"


def test_a_trigger_that_is_no_schedule_of_the_flow_is_refused():
    with pytest.raises(BadArgument, match=r"^TRIGGER: dev.f has no Schedule trigger 'nightly' \(.*: hourly\)"):
        backfill_trigger(flow(("hourly", SCHEDULE)), "nightly")
    with pytest.raises(BadArgument, match="^TRIGGER: dev.f has no Schedule trigger to backfill"):
        backfill_trigger(flow(), None)


def test_the_backfill_body_leaves_out_what_was_not_given():
    assert backfill_body("2024-03-28T06:30:00Z", None, {}, {}, None, None, None, None) == {
        "start": "2024-03-28T06:30:00Z",
        "end": None,
    }
    assert backfill_body("s", "e", {"reason": "outage"}, {"day": "1"}, 4, "newest_first", "failed", 3) == {
        "start": "s",
        "end": "e",
        "labels": [{"key": "reason", "value": "outage"}],
        "inputs": {"day": "1"},
        "concurrency": 4,
        "order": "newest_first",
        "reprocess": "failed",
        "maxFailures": 3,
    }


def test_api_urls_keep_the_stage_add_the_tenant_and_percent_encode_the_query():
    client = ApiClient("https://abc123.execute-api.eu-west-1.amazonaws.com/prod/", tenant="acme")
    assert client.api_url("/backfills", {"namespace": "my team", "status": None, "page": 2}) == (
        "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/api/v1/acme/backfills?namespace=my%20team&page=2"
    )
    assert ApiClient().api_url("/flows/dev/x") == "http://127.0.0.1:8080/api/v1/flows/dev/x"


def test_a_refusal_is_one_line():
    assert ApiError(422, "backfill.start: 2024 is after\n  backfill.end").one_line() == (
        "422: backfill.start: 2024 is after backfill.end"
    )


def test_the_region_comes_from_an_execute_api_url_only():
    assert region_in_url("https://abc123.execute-api.eu-west-1.amazonaws.com/prod") == "eu-west-1"
    assert region_in_url("https://api.example.com/prod") is None
    assert is_aws_url("https://abc123.execute-api.us-east-1.amazonaws.com/prod")
    assert not is_aws_url("http://127.0.0.1:8080")


def backfill(status: str, **counts: int) -> dict:
    return {
        "id": "1VlxKWtxU9KBRfqAIm0M9g",
        "namespace": "dev",
        "flowId": "scheduled_flow",
        "triggerId": "schedule",
        "status": status,
        "counts": {k.upper(): v for k, v in counts.items()},
        "total": sum(counts.values()),
        "slotsPerMinute": 30.0,
        "etaDate": "2024-03-28T12:01:30Z",
        "created": "2024-03-28T12:00:00Z",
        "updated": "2024-03-28T12:00:22Z",
    }


def test_done_counts_every_slot_that_will_not_run_again():
    running = backfill("RUNNING", succeeded=5, failed=1, skipped=1, cancelled=1, running=2, pending=1)
    assert done_of(running) == 8
    assert states_text(running) == "running 2, pending 1, succeeded 5, failed 1, skipped 1, cancelled 1"


def test_eta_is_time_left_while_running_and_time_taken_once_ended():
    now = datetime(2024, 3, 28, 12, 0, 0, tzinfo=UTC)
    assert eta_text(backfill("RUNNING", running=1), now) == "ETA 0:01:30"
    assert eta_text(backfill("SUCCEEDED", succeeded=1), now) == "took 0:00:22"


def rendered(view, width: int = 80) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(view)
    return [line.rstrip() for line in console.export_text().splitlines()]


def test_the_progress_view_fits_80_columns_and_ends_with_done_of_total():
    lines = rendered(progress_view(backfill("RUNNING", succeeded=4, running=2, pending=5)))
    assert all(len(line) <= 80 for line in lines)
    assert lines[0] == "1VlxKWtxU9KBRfqAIm0M9g  dev.scheduled_flow:schedule  RUNNING"
    assert lines[1].startswith("running 2, pending 5, succeeded 4  30.0 slots/min  ETA ")
    assert lines[2].startswith("━") and lines[2].endswith(" 4 of 11  36%")

    final = rendered(progress_view(backfill("SUCCEEDED", succeeded=11)))
    assert final[-1].endswith(" 11 of 11 100%")
    assert "took 0:00:22" in final[1]


def test_sigv4_takes_the_region_from_the_option_then_the_url_then_the_aws_configuration(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    aws = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    assert SigV4Signer.from_chain(aws, "ap-south-1").region == "ap-south-1"
    assert SigV4Signer.from_chain(aws, None).region == "eu-west-1"
    assert SigV4Signer.from_chain("https://api.example.com", None).region == "us-east-2"

    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(SigningUnavailable, match="^--region: no AWS region given"):
        SigV4Signer.from_chain("https://api.example.com", None)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    with pytest.raises(SigningUnavailable, match="^--sigv4: no AWS credentials found"):
        SigV4Signer.from_chain(aws, None)


def test_a_run_window_and_a_rate_limit_are_read_as_the_api_takes_them():
    from backfill_cli.arguments import rate_limit, run_window

    assert run_window("01:00-06:00", "mon,FRI,sat", "Europe/Paris") == {
        "from": "01:00", "to": "06:00", "days": ["MONDAY", "FRIDAY", "SATURDAY"], "timezone": "Europe/Paris"
    }  # fmt: skip
    assert run_window("22:00-06:00", None, None) == {"from": "22:00", "to": "06:00"}
    assert run_window(None, None, None) is None
    for hours, days, zone, says in (
        ("01:00", None, None, "--run-window: '01:00' is not FROM-TO"),
        ("01:00-06:00", "MON,T", None, "--run-days: 'T' is not a day"),
        (None, "MON", None, "--run-days and --run-zone need --run-window"),
    ):
        with pytest.raises(BadArgument, match=f"^{says}"):
            run_window(hours, days, zone)
    assert (rate_limit("30"), rate_limit("None")) == (30, None)
    competing = backfill_body("2024-01-01T00:00:00Z", None, {}, {}, None, None, None, None, live_first=False)
    assert competing["liveFirst"] is False
    assert "liveFirst" not in backfill_body("2024-01-01T00:00:00Z", None, {}, {}, None, None, None, None)
    with pytest.raises(BadArgument, match="^--max-slots-per-minute: '0'"):
        rate_limit("0")


def test_the_watch_line_shows_the_rate_limit_the_window_wait_and_the_forecast_made_at_creation():
    from backfill_cli.display import forecast_text, rate_text, status_text

    waiting = {"status": "WAITING_FOR_WINDOW", "nextWindowOpening": "2030-01-08T13:00:00+01:00"}
    assert status_text(waiting).plain == "WAITING_FOR_WINDOW (opens 2030-01-08T13:00:00+01:00)"
    assert status_text({"status": "RUNNING", "yieldingToLive": True}).plain == "RUNNING (stepping aside for a live run)"
    assert rate_text({"slotsPerMinute": 29.5, "maxSlotsPerMinute": 30}) == "29.5 slots/min (limit 30)"
    assert forecast_text({"forecastSeconds": 100.4}) == " (forecast 0:01:40)"
    assert forecast_text({"forecastSeconds": None}) == ""
