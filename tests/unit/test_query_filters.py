"""Kestra's query filters as parsed: a caller's REGEX is bounded in length and in time."""

import time

import pytest

from backfill_core.errors import Invalid
from backfill_core.kestra_api import filters
from backfill_core.kestra_api.filter_fields import EXECUTION_FIELDS, TRIGGER_FIELDS


def test_a_regex_that_backtracks_without_end_is_refused_within_its_budget(monkeypatch):
    monkeypatch.setattr(filters, "REGEX_BUDGET_SECONDS", 0.05)
    [pattern] = filters.parse({"filters[flowId][REGEX]": ["(a|aa)+$"]}, EXECUTION_FIELDS)
    assert isinstance(pattern, filters.QueryFilter)
    assert pattern.text("aa")
    started = time.monotonic()
    with pytest.raises(Invalid, match=r"filters\[flowId\]\[REGEX\]: the pattern takes too long"):
        pattern.text("a" * 60 + "!")
    assert time.monotonic() - started < 5  # unbounded, this match runs for hours


def test_the_budget_is_shared_by_every_match_of_one_request(monkeypatch):
    monkeypatch.setattr(filters, "REGEX_BUDGET_SECONDS", 0.05)
    [pattern] = filters.parse({"filters[namespace][REGEX]": ["(a|aa)+$"]}, EXECUTION_FIELDS)
    assert isinstance(pattern, filters.QueryFilter) and pattern.pattern is not None
    pattern.pattern.spent = 0.05  # earlier matches of the same request used it up
    with pytest.raises(Invalid, match="takes too long"):
        pattern.text("a" * 30 + "!")


def test_a_regex_longer_than_the_bound_is_refused_before_it_is_compiled():
    with pytest.raises(Invalid, match="at most 200 characters"):
        filters.parse({"filters[namespace][REGEX]": ["a" * 201]}, TRIGGER_FIELDS)
