"""Dry-run counting against croniter stepping: ten years of `* * * * *` (2015-01-01 to 2025-01-01), in UTC
and in Europe/Paris. Stepping is timed over its first 200,000 slots and its rate scaled to the range.
Then crons with `L`, `#` and `W`, which counting once stepped slot by slot (now day by day), in Europe/Paris.

    .venv/bin/python -m bench.planning [--quick]
"""

import time
from datetime import UTC, datetime, timedelta

from croniter import croniter

from local.lambda_runtime import ensure_layer_on_path

from .report import Report, arguments

ensure_layer_on_path()
from backfill_core.schedules.counting import count_slots  # noqa: E402
from backfill_core.schedules.cron import CronSchedule  # noqa: E402

START, END = datetime(2015, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
SAMPLE = 200_000
SPECIALS = [  # cron, with seconds, years from 2020-01-01
    ("* * L * *", False, 5),
    ("* * * L * *", True, 1),
    ("* * * * 5#2", False, 5),
    ("*/5 * 15W * *", False, 30),
]


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
    rows = []
    for cron, seconds, years in SPECIALS:
        schedule = CronSchedule(cron, "Europe/Paris", seconds)
        start = datetime(2020, 1, 1, tzinfo=UTC)
        end = start.replace(year=2020 + years) - timedelta(seconds=1)
        started = time.perf_counter()
        total = count_slots(schedule, start, end)
        counting = time.perf_counter() - started
        started = time.perf_counter()
        stepped = len(schedule.slots(start, end, sample // 10))
        stepping = (time.perf_counter() - started) * total / stepped
        rows.append([cron, str(years), f"{total:,}", f"{counting * 1000:.0f}", f"{stepping:.1f}"])
    report.table(["cron (Europe/Paris)", "years", "slots", "count_slots ms", "slot stepping s (scaled)"], rows)
    report.note(
        f"slot stepping: today's CronSchedule.slots over {sample // 10:,} slots, scaled; counting these crons "
        "stepped so before (with croniter's slower DST walk: * * L * * over 5 years took 12 s)."
    )
    report.save()


if __name__ == "__main__":
    main()
