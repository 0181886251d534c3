"""Dry-run counting against croniter stepping: ten years of `* * * * *` (2015-01-01 to 2025-01-01), in UTC
and in Europe/Paris. Stepping is timed over its first 200,000 slots and its rate scaled to the range.

    .venv/bin/python -m bench.planning [--quick]
"""

import time
from datetime import UTC, datetime

from croniter import croniter

from local.lambda_runtime import ensure_layer_on_path

from .report import Report, arguments

ensure_layer_on_path()
from backfill_core.cron_slots import CronSchedule  # noqa: E402
from backfill_core.slot_count import count_slots  # noqa: E402

START, END = datetime(2015, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
SAMPLE = 200_000


def stepping_rate(zone_name: str, sample: int) -> float:
    """Slots per second of plain croniter stepping in the zone."""
    walk = croniter("* * * * *", START.astimezone(CronSchedule("* * * * *", zone_name).zone))
    started = time.perf_counter()
    for _ in range(sample):
        walk.get_next(datetime)
    return sample / (time.perf_counter() - started)


def main() -> None:
    args = arguments(__doc__)
    sample = SAMPLE // 20 if args.quick else SAMPLE
    report = Report("planning", "dry-run counting vs croniter stepping, ten years of * * * * *", args.quick)
    rows = []
    for zone_name in ("UTC", "Europe/Paris"):
        schedule = CronSchedule("* * * * *", zone_name)
        started = time.perf_counter()
        total = count_slots(schedule, START, END)
        counting = time.perf_counter() - started
        stepping = total / stepping_rate(zone_name, sample)
        rows.append(
            [zone_name, f"{total:,}", f"{counting * 1000:.0f}", f"{stepping:.1f}", f"{stepping / counting:,.0f}x"]
        )
    report.table(["zone", "slots", "count_slots ms", "croniter stepping s (scaled)", "ratio"], rows)
    report.note(
        f"2015-01-01 to 2025-01-01; stepping timed over its first {sample:,} slots and its rate scaled to the range."
    )
    report.save()


if __name__ == "__main__":
    main()
