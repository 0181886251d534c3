import os
import random

import pytest

from tests.chaos.faults import FaultInjector
from tests.chaos.scenario import CHAOS_ENV
from tests.harness import Harness


@pytest.fixture
def chaos_seed() -> int:
    """CHAOS_SEED replays a run; otherwise each run draws a new seed and prints it (shown on failure)."""
    seed = int(os.environ["CHAOS_SEED"]) if os.environ.get("CHAOS_SEED") else random.SystemRandom().randrange(2**32)
    print(f"chaos seed {seed} (replay with CHAOS_SEED={seed})")
    return seed


@pytest.fixture
def chaos_harness(aws, monkeypatch) -> Harness:
    """The handlers against moto, with leases and the watchdog's delay shortened for a driven run."""
    for name, value in CHAOS_ENV.items():
        monkeypatch.setenv(name, value)
    return Harness(aws)


@pytest.fixture
def make_injector(chaos_harness, chaos_seed):
    """Installs a fault injector with the given rates; uninstalled after the test."""
    installed = []

    def make(rates: dict[str, float]) -> FaultInjector:
        injector = FaultInjector(chaos_seed, rates, chaos_harness.sqs, chaos_harness.queue_url).install()
        installed.append(injector)
        return injector

    yield make
    for injector in installed:
        injector.uninstall()
