"""Dry-run counting against croniter stepping: ten years of `* * * * *` (2015-01-01 to 2025-01-01), in UTC
and in Europe/Paris. Stepping is timed over its first 200,000 slots and its rate scaled to the range.

    .venv/bin/python -m bench.planning
"""

import time
from datetime import UTC, datetime

from croniter import croniter

from local.lambda_runtime import ensure_layer_on_path

ensure_layer_on_path()
from backfill_core.cron_slots import CronSchedule  # noqa: E402
from backfill_core.slot_count import count_slots  # noqa: E402

START, END = datetime(2015, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
SAMPLE = 200_000


def stepping_rate(zone_name: str) -> float:
    """Slots per second of plain croniter stepping in the zone."""
    walk = croniter("* * * * *", START.astimezone(CronSchedule("* * * * *", zone_name).zone))
    started = time.perf_counter()
    for _ in range(SAMPLE):
        walk.get_next(datetime)
    return SAMPLE / (time.perf_counter() - started)


def main() -> None:
    print("ten years of * * * * *, 2015-01-01 to 2025-01-01")
    print(f"{'zone':<14} {'slots':>9} {'count_slots':>12} {'croniter stepping':>18} {'ratio':>8}")
    for zone_name in ("UTC", "Europe/Paris"):
        schedule = CronSchedule("* * * * *", zone_name)
        started = time.perf_counter()
        total = count_slots(schedule, START, END)
        counting = time.perf_counter() - started
        stepping = total / stepping_rate(zone_name)
        print(
            f"{zone_name:<14} {total:>9,} {counting * 1000:>9.0f} ms {stepping:>15.1f} s {stepping / counting:>7.0f}x"
        )


if __name__ == "__main__":
    main()
