"""Operations as pure pieces: which lifecycle event a write made, the event's detail, the local stack's EVENT line
and its totals of the EMF documents Powertools serializes."""

import json
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from backfill_core.backfills.events import Lifecycle, event_of, hold_change
from backfill_core.backfills.model import BackfillSpec, BackfillStatus
from backfill_core.backfills.progress import Progress
from local.operations import MetricsStore, event_line

AT = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
RUNNING = Progress(total=10, concurrency=1, cursor=3, slots={0: -3}, succeeded=2, updated=AT)
SPEC = BackfillSpec(
    id="b1",
    tenant="main",
    namespace="company.team",
    flow_id="export",
    trigger_id="hourly",
    trigger_type="io.kestra.plugin.core.trigger.Schedule",
    cron="0 * * * *",
    timezone="UTC",
    start=datetime(2024, 1, 1, tzinfo=UTC),
    end=datetime(2024, 1, 1, 9, tzinfo=UTC),
    total=10,
    created=AT,
)


def after(**changes) -> Progress:
    return RUNNING.model_copy(update=changes)


@pytest.mark.parametrize(
    ("before", "now", "expected"),
    [
        (RUNNING, after(paused=True), Lifecycle.PAUSED),
        (RUNNING, after(trigger_disabled=True), Lifecycle.PAUSED),
        (after(paused=True), RUNNING, Lifecycle.RESUMED),
        (after(paused=True, pause_reason="maxFailures"), RUNNING, Lifecycle.RESUMED),
        # Still held: the trigger is disabled while a person unpauses, or a person pauses a disabled trigger's.
        (after(paused=True, trigger_disabled=True), after(trigger_disabled=True), None),
        (after(trigger_disabled=True), after(paused=True, trigger_disabled=True), None),
        (RUNNING, after(concurrency=4), None),
        # A cancel of a paused backfill is its end (stored later), not a resume.
        (after(paused=True), after(paused=True, status=BackfillStatus.CANCELLING), None),
        (after(paused=True), after(paused=False, status=BackfillStatus.CANCELLED, slots={}), None),
    ],
)
def test_hold_change_names_the_transition_a_write_made(before, now, expected):
    assert hold_change(before, now) == expected


def test_an_event_names_its_backfill_counts_and_why_it_paused():
    paused = event_of(Lifecycle.PAUSED, SPEC, after(paused=True, pause_reason="maxFailures: 2 slots failed"))
    detail = paused.to_json()
    assert Lifecycle.PAUSED.detail_type == "Backfill Paused"
    assert detail["event"] == "paused" and detail["reason"] == "maxFailures: 2 slots failed"
    assert (detail["backfillId"], detail["flowId"], detail["triggerId"]) == ("b1", "export", "hourly")
    assert (detail["total"], detail["succeeded"], detail["start"]) == (10, 2, "2024-01-01T00:00:00Z")
    assert event_of(Lifecycle.PAUSED, SPEC, after(trigger_disabled=True)).reason == "trigger disabled"
    assert event_of(Lifecycle.PAUSED, SPEC, after(paused=True)).reason is None  # a person paused it
    assert event_of(Lifecycle.PAUSED, SPEC, after(window_closed=True)).reason == "outside its run window"


def test_a_run_window_pauses_and_resumes_but_stepping_aside_for_a_live_slot_is_no_event():
    running = after()
    assert hold_change(running, after(window_closed=True)) == Lifecycle.PAUSED
    assert hold_change(after(window_closed=True), running) == Lifecycle.RESUMED
    assert hold_change(running, after(yielding_since="2024-01-01T00:00:00.000000Z")) is None
    assert hold_change(after(yielding_since="2024-01-01T00:00:00.000000Z"), running) is None


def test_the_local_event_line_names_the_event_its_backfill_and_counts():
    detail = event_of(Lifecycle.SUCCEEDED, SPEC, after(succeeded=10, slots={}, cursor=10)).to_json()
    line = event_line({"DetailType": "Backfill Succeeded", "Detail": json.dumps(detail)})
    assert line == (
        "EVENT Backfill Succeeded b1 company.team.export.hourly total=10 succeeded=10 failed=0 skipped=0 cancelled=0"
    )


def emf(service: str, **values: list[float]) -> dict:
    """A document as Powertools serializes it."""
    provider = AmazonCloudWatchEMFProvider(namespace="KestraBackfills", service=service, metric_set={})
    for name, numbers in values.items():
        for number in numbers:
            provider.add_metric(name=name, unit="Seconds" if name == "SlotDuration" else "Count", value=number)
    return provider.serialize_metric_set()


def test_the_local_metrics_total_each_metric_over_the_documents():
    store = MetricsStore()
    store.add(emf("executor", SlotsSucceeded=[1, 1], SlotDuration=[0.5, 2.0]))
    store.add(emf("executor", SlotsSucceeded=[1], SlotDuration=[1.0]))
    store.add(emf("api", BackfillsCreated=[1]))
    answer = store.answer()
    assert answer["namespace"] == "KestraBackfills" and len(answer["documents"]) == 3
    succeeded, duration = answer["metrics"]["SlotsSucceeded"], answer["metrics"]["SlotDuration"]
    assert (succeeded["count"], succeeded["sum"], succeeded["services"]) == (3, 3, ["executor"])
    assert (duration["unit"], duration["min"], duration["max"], duration["sum"]) == ("Seconds", 0.5, 2.0, 3.5)
    assert answer["metrics"]["BackfillsCreated"]["services"] == ["api"]
