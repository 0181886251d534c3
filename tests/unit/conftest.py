"""Fixtures the unit tests share."""

import pytest

from backfill_core.storage import batches


@pytest.fixture
def batch_waits(monkeypatch) -> list[float]:
    """Each wait of a batch call's retries, at the top of its jitter range (time.sleep recorded, not slept)."""
    slept: list[float] = []
    monkeypatch.setattr(batches.random, "uniform", lambda low, high: high)
    monkeypatch.setattr(batches.time, "sleep", slept.append)
    return slept
