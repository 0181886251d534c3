"""A flow's `concurrency` as Kestra defines it: `limit` required and at least 1, `behavior` QUEUE unless given,
nothing else; and which of the flow's places an execution may take."""

import pytest

from backfill_core.errors import Invalid
from backfill_core.flows.concurrency import PLACES_TRIED, ConcurrencyBehavior, places_to_try
from backfill_core.flows.model import parse_flow

NOW = 1_000.0
FLOW = """id: f
namespace: tests
tasks:
  - id: t
    type: io.kestra.plugin.core.log.Log
    message: hi
"""


def test_behavior_is_queue_unless_given():
    flow = parse_flow(FLOW + "concurrency:\n  limit: 2\n")
    assert flow.concurrency is not None
    assert (flow.concurrency.limit, flow.concurrency.behavior) == (2, ConcurrencyBehavior.QUEUE)
    assert parse_flow(FLOW + "concurrency:\n  limit: 1\n  behavior: FAIL\n").concurrency.behavior == "FAIL"
    assert parse_flow(FLOW).concurrency is None


@pytest.mark.parametrize(
    ("written", "named"),
    [
        ("  limit: 0\n", "concurrency.limit: must be at least 1"),
        ("  behavior: CANCEL\n", "concurrency.limit: Field required"),
        ("  limit: 1\n  behavior: SKIP\n", "concurrency.behavior: Input should be 'QUEUE', 'CANCEL' or 'FAIL'"),
        ("  limit: 1\n  maxQueued: 3\n", "concurrency.maxQueued: not a known property here"),
        ("  limit: two\n", "concurrency.limit: Input should be a valid integer"),
    ],
)
def test_a_concurrency_kestra_would_refuse_is_refused_naming_its_path(written, named):
    with pytest.raises(Invalid) as refused:
        parse_flow(FLOW + "concurrency:\n" + written)
    assert named in refused.value.message


def test_an_execution_takes_the_first_free_place():
    assert places_to_try([], 3, "e1", NOW) == [0, 1, 2]
    assert places_to_try([(0, "e0", NOW + 60)], 3, "e1", NOW) == [1, 2]


def test_a_full_flow_offers_no_place():
    held = [(0, "e0", NOW + 60), (1, "e1", NOW + 60)]
    assert places_to_try(held, 2, "e2", NOW) == []


def test_a_place_whose_lease_ran_out_is_free_again():
    """An executor that died holding the place frees it when the lease ends."""
    held = [(0, "dead", NOW - 0.001), (1, "e1", NOW + 60)]
    assert places_to_try(held, 2, "e2", NOW) == [0]


def test_an_execution_that_holds_a_place_takes_it_again_even_past_its_lease():
    """A redelivered message, or the next attempt after a crash, renews the place it held."""
    held = [(0, "e0", NOW + 60), (1, "e1", NOW - 5)]
    assert places_to_try(held, 2, "e1", NOW) == [1]


def test_holders_above_a_lowered_limit_still_count_until_they_end():
    """The limit went from 2 to 1 while places 0 and 1 were held: place 0 is free again, but the execution
    still running on place 1 fills the new limit."""
    held = [(0, "e0", NOW - 1), (1, "e1", NOW + 60)]
    assert places_to_try(held, 1, "e2", NOW) == []
    assert places_to_try(held, 2, "e2", NOW) == [0]


def test_a_large_limit_offers_a_few_places_without_listing_them_all():
    assert places_to_try([(0, "e0", NOW + 60)], 10**12, "e1", NOW) == list(range(1, PLACES_TRIED + 1))
