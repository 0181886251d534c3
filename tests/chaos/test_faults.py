"""Fault injection: whatever crashes, duplicates or throttles, each slot of a backfill runs exactly once,
every slot finishes, the counts match a recount, and the DLQ holds only what belongs there."""

import pytest

from tests.chaos.faults import POINTS, rates
from tests.chaos.scenario import ChaosRun


def test_many_slots_at_ten_percent_per_fault_point_run_once_each(chaos_harness, make_injector):
    injector = make_injector(rates(crash=0.10, aws=0.10, per_call=0.01))
    report = ChaosRun(chaos_harness, injector, slots=120, concurrency=5).run()
    print(report.summary())
    assert not report.problems, report.summary()
    assert (report.duplicates, report.lost) == (0, 0)
    # A send of several messages and a watchdog run are rare chances at this size; the test of each fault
    # alone fires those two.
    rare = {"send_mid_batch", "watchdog_early"}
    assert all(report.injected[point] for point in POINTS if point not in rare), report.summary()


@pytest.mark.parametrize("point", sorted(POINTS))
def test_each_fault_alone_loses_nothing_and_runs_nothing_twice(chaos_harness, make_injector, point):
    """One fault at a time, often, so a failure names the point that broke the rules."""
    # A send of several messages comes from a create or a watchdog run: lost messages bring the watchdog.
    companion = {"cursor_written_unsent": 0.3} if point == "send_mid_batch" else {}
    # per call: a slot makes about fifteen; a send of several messages comes only a few times a run, so that
    # point fires at nearly every chance (at 0.5 it could pass a whole run unfired)
    rate = 0.05 if point.startswith("dynamodb") else 0.9 if point == "send_mid_batch" else 0.5
    injector = make_injector({point: rate, **companion})
    report = ChaosRun(chaos_harness, injector, slots=30, concurrency=3, batch_size=3).run(poison=False)
    assert report.injected[point], f"{point} never fired: {report.summary()}"
    assert not report.problems, report.summary()


def test_a_poison_message_is_dead_lettered_and_the_backfill_carries_on(chaos_harness, make_injector):
    injector = make_injector({})
    report = ChaosRun(chaos_harness, injector, slots=10, concurrency=2).run(poison=True)
    assert report.poison_dead_lettered == 1, report.summary()
    assert not report.problems, report.summary()
