"""Design time: what the bench reports, as opposed to this machine's wall time.

With a scale of S, every wait the design makes (an AWS call's latency, the layer's backoff, an SQS
visibility timeout) takes S times as long on the wall clock, and every duration is read back divided by S:
the CPU this one process spends (handlers, botocore, moto; one interpreter for every executor) shrinks by S
against the design's waits, as if each executor were a Lambda of its own. A scale of 1 is wall time."""

import threading
import time
import types
from collections import Counter
from contextlib import contextmanager


class DesignClock:
    """Design time running 1/scale as fast as wall time; the scale may change during a run (`set_scale`),
    design time staying continuous."""

    def __init__(self, scale: float = 1.0):
        now = time.monotonic()
        # One tuple, replaced whole, so a reader never mixes two scales: wall now, design now, epoch now, scale.
        self._state = (now, now, time.time(), 1.0)
        self.set_scale(scale)

    @property
    def scale(self) -> float:
        return self._state[3]

    def set_scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError(f"scale must be above 0, not {scale}")
        wall = time.monotonic()
        self._state = (wall, self._since(wall, 1), self._since(wall, 2), scale)

    def _since(self, wall: float, which: int) -> float:
        state = self._state
        return state[which] + (wall - state[0]) / state[3]

    def monotonic(self) -> float:
        return self._since(time.monotonic(), 1)

    def time(self) -> float:
        """Seconds since the epoch, at design speed."""
        return self._since(time.monotonic(), 2)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds * self.scale)

    def wall(self, design_seconds: float) -> float:
        return design_seconds * self.scale


class Governor:
    """Keeps this process's CPU below `target` of one core (one interpreter runs one thread at a time) by
    slowing design time down when the CPU gets busy, and never below `floor` (so that even one thread's own
    CPU stays small against the latencies it waits). Reports the scales it used."""

    def __init__(self, clock: DesignClock, target: float, floor: float, ceiling: float, period: float = 0.25):
        self.clock, self.target, self.floor, self.ceiling, self.period = clock, target, floor, ceiling, period
        self.stopping = threading.Event()
        self.samples: list[tuple[float, float]] = []  # (scale, CPU share) each period

    def __enter__(self) -> "Governor":
        self.clock.set_scale(self.floor)
        self.thread = threading.Thread(target=self._run, name="governor", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join()

    def _run(self) -> None:
        wall, cpu = time.monotonic(), time.process_time()
        while not self.stopping.wait(self.period):
            now_wall, now_cpu = time.monotonic(), time.process_time()
            share = (now_cpu - cpu) / max(now_wall - wall, 1e-9)
            wall, cpu = now_wall, now_cpu
            self.samples.append((self.clock.scale, share))
            wanted = self.clock.scale * max(share, 0.01) / self.target
            # Halfway there each period (geometric), so one noisy period does not swing the clock.
            scale = min(self.ceiling, max(self.floor, (self.clock.scale * wanted) ** 0.5))
            self.clock.set_scale(scale)

    def mean_scale(self) -> float:
        return sum(s for s, _ in self.samples) / len(self.samples) if self.samples else self.clock.scale

    def mean_share(self) -> float:
        return sum(c for _, c in self.samples) / len(self.samples) if self.samples else 0.0


class BackoffTimer:
    """A stand-in for the `time` module of the layer's retry loop (backfills/changes.py): its sleeps run on
    the design clock and are added up by who slept, its deadline is read on the design clock."""

    def __init__(self, clock: DesignClock, who):
        self.clock = clock
        self.who = who
        self.slept: Counter = Counter()
        self.sleeps: Counter = Counter()
        self.lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)
        with self.lock:
            self.slept[self.who()] += seconds
            self.sleeps[self.who()] += 1

    def monotonic(self) -> float:
        return self.clock.monotonic()

    def reset(self) -> None:
        with self.lock:
            self.slept.clear()
            self.sleeps.clear()


@contextmanager
def patched(owner, name: str, replacement):
    """`owner.name` replaced for the duration (the bench's process only; production code is unchanged)."""
    original = getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield original
    finally:
        setattr(owner, name, original)


def time_module(timer: BackoffTimer) -> types.SimpleNamespace:
    """A module-like object with `time`'s functions, sleep and monotonic on the design clock."""
    functions = {name: getattr(time, name) for name in dir(time) if not name.startswith("_")}
    return types.SimpleNamespace(**{**functions, "sleep": timer.sleep, "monotonic": timer.monotonic})
