"""How a backfill reads on a terminal: its progress in words and numbers (pure, tested as text) and the Rich
renderables of `show`, `list`, `slots` and the live view of `watch`."""

from datetime import UTC, datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

# A watched backfill is over in these; the command's exit status says which (README, "Command line").
ENDED = ("SUCCEEDED", "FAILED", "CANCELLED")
# Slot states in the order a person reads them: what moves, then what ended.
SLOT_STATES = ("RUNNING", "DISPATCHED", "PENDING", "PARKED", "SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED")
DONE_STATES = ("SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED")
STATUS_STYLES = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "CANCELLED": "red",
    "CANCELLING": "yellow",
    "PAUSED": "yellow",
    "WAITING_FOR_WINDOW": "yellow",
    "RUNNING": "cyan",
}


def done_of(backfill: dict[str, Any]) -> int:
    """Slots that will not run again: succeeded, failed, skipped or cancelled."""
    counts = backfill.get("counts") or {}
    return sum(int(counts.get(state, 0)) for state in DONE_STATES)


def states_text(backfill: dict[str, Any]) -> str:
    """The slot states that hold any slot, e.g. `succeeded 9, running 2`."""
    counts = backfill.get("counts") or {}
    held = [f"{state.lower()} {counts[state]}" for state in SLOT_STATES if counts.get(state)]
    return ", ".join(held) or "no slot yet"


def parse_date(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def duration_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def rate_text(backfill: dict[str, Any]) -> str:
    rate = float(backfill.get("slotsPerMinute") or 0)
    limit = backfill.get("maxSlotsPerMinute")
    return (f"{rate:.1f} slots/min" if rate else "- slots/min") + (f" (limit {limit})" if limit else "")


def eta_text(backfill: dict[str, Any], now: datetime) -> str:
    """Time left from the API's `etaDate`; once ended, how long the backfill took instead."""
    if backfill.get("status") in ENDED:
        created, updated = parse_date(backfill.get("created")), parse_date(backfill.get("updated"))
        return f"took {duration_text((updated - created).total_seconds())}" if created and updated else ""
    eta = parse_date(backfill.get("etaDate"))
    return f"ETA {duration_text((eta - now).total_seconds())}" if eta else "ETA -"


def trigger_name(backfill: dict[str, Any]) -> str:
    return f"{backfill.get('namespace')}.{backfill.get('flowId')}:{backfill.get('triggerId')}"


def status_text(backfill: dict[str, Any]) -> Text:
    status = str(backfill.get("status"))
    text = Text(status, style=STATUS_STYLES.get(status, ""))
    if backfill.get("pauseReason"):
        text.append(f" ({backfill['pauseReason']})")
    if backfill.get("yieldingToLive"):
        text.append(" (stepping aside for a live run)")
    if backfill.get("nextWindowOpening"):
        text.append(f" (opens {backfill['nextWindowOpening']})")
    return text


def forecast_text(backfill: dict[str, Any]) -> str:
    """`, forecast 1:40:00`: what the dry run forecast when the backfill was created, to read the ETA against."""
    seconds = backfill.get("forecastSeconds")
    return f" (forecast {duration_text(seconds)})" if seconds is not None else ""


def window_text(backfill: dict[str, Any]) -> str:
    """`01:00-06:00 Europe/Paris, MONDAY FRIDAY`, or `any time`."""
    window = backfill.get("runWindow")
    if not window:
        return "any time"
    days = "every day" if len(window.get("days") or []) == 7 else " ".join(window.get("days") or [])
    return f"{window['from']}-{window['to']} {window.get('timezone')}, {days}"


def progress_view(backfill: dict[str, Any], now: datetime | None = None) -> RenderableType:
    """The live view: who and what state, the slot states with rate and ETA, then the bar with done of total."""
    now = now or datetime.now(UTC)
    done, total = done_of(backfill), int(backfill.get("total") or 0)
    heading = Text.assemble(Text(str(backfill.get("id")), style="bold"), "  ", trigger_name(backfill), "  ")
    heading.append_text(status_text(backfill))
    heading.no_wrap, heading.overflow = True, "ellipsis"
    details = Text(
        f"{states_text(backfill)}  {rate_text(backfill)}  {eta_text(backfill, now)}{forecast_text(backfill)}"
    )
    details.no_wrap, details.overflow = True, "ellipsis"
    bar = Table.grid(expand=True, padding=(0, 1))
    bar.add_column(ratio=1)
    bar.add_column(no_wrap=True, justify="right")
    percent = 100 * done / total if total else 0.0
    bar.add_row(ProgressBar(total=total or 1, completed=done), f"{done} of {total} {percent:3.0f}%")
    return Group(heading, details, bar)


def backfill_table(backfill: dict[str, Any], now: datetime | None = None) -> Table:
    """`show`: the backfill's fields a person asks about, one per row."""
    now = now or datetime.now(UTC)
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    labels = ", ".join(f"{label['key']}={label['value']}" for label in backfill.get("labels") or [])
    inputs = ", ".join(f"{k}={v}" for k, v in (backfill.get("inputs") or {}).items())
    rows: list[tuple[str, str | Text]] = [
        ("id", str(backfill.get("id"))),
        ("trigger", trigger_name(backfill)),
        ("status", status_text(backfill)),
        (
            "window",
            f"{backfill.get('start')} to {backfill.get('end')} ({backfill.get('cron')}, {backfill.get('timezone')})",
        ),
        ("progress", f"{done_of(backfill)} of {backfill.get('total')} done: {states_text(backfill)}"),
        ("rate", f"{rate_text(backfill)}, {eta_text(backfill, now)}{forecast_text(backfill)}"),
        ("next slot", str(backfill.get("currentDate"))),
        ("run window", window_text(backfill)),
        (
            "policy",
            f"concurrency {backfill.get('concurrency')}, {backfill.get('order')}, reprocess "
            f"{backfill.get('reprocess')}, maxFailures {backfill.get('maxFailures') or '-'}, maxSlotsPerMinute "
            f"{backfill.get('maxSlotsPerMinute') or '-'}",
        ),
        ("labels", labels or "-"),
        ("inputs", inputs or "-"),
        ("created", f"{backfill.get('created')} by {backfill.get('createdBy') or '-'}"),
        ("updated", str(backfill.get("updated"))),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def backfills_table(backfills: list[dict[str, Any]]) -> Table:
    """`list`: one row a backfill, newest first as the API answers; the trigger over its window, so a row fits
    80 columns (`show` has the rest)."""
    table = Table(box=None, padding=(0, 1), header_style="bold")
    for column in ("ID", "STATUS", "DONE"):
        table.add_column(column, no_wrap=True)
    table.add_column("TRIGGER, WINDOW")
    for backfill in backfills:
        table.add_row(
            str(backfill.get("id")),
            status_text(backfill),
            f"{done_of(backfill)}/{backfill.get('total')}",
            f"{trigger_name(backfill)}\n{backfill.get('start')} to {backfill.get('end')}",
        )
    return table


def slots_table(slots: list[dict[str, Any]]) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold")
    for column in ("DATE", "STATE", "EXECUTION", "REASON"):
        table.add_column(column, overflow="fold")
    for slot in slots:
        table.add_row(str(slot["date"]), str(slot["state"]), slot.get("executionId") or "-", slot.get("reason") or "")
    return table


def dry_run_text(plan: dict[str, Any]) -> str:
    """The dry run in words: how many would run and be skipped, and the first and last dates."""
    lines = [
        f"{plan['namespace']}.{plan['flowId']}:{plan['triggerId']} from {plan['start']} to {plan['end']}: "
        f"{plan['total']} slots, {plan['run']} to run, {plan['skipped']} skipped "
        f"(concurrency {plan['concurrency']}, {plan['order']}, reprocess {plan['reprocess']})",
    ]
    first, last = plan.get("firstPage") or [], plan.get("lastPage") or []
    if first:
        lines.append("first: " + ", ".join(first))
    if last and last != first:
        lines.append("last:  " + ", ".join(last))
    lines += [f"skip:  {s['date']} {s['reason']}" for s in plan.get("skippedPage") or []]
    lines += forecast_lines(plan.get("forecast"))
    lines.append("Nothing was started (dry run).")
    return "\n".join(lines)


def forecast_lines(forecast: dict[str, Any] | None) -> list[str]:
    """The dry run's forecast: the time and what it comes from, the rate limit's and the window's effects, and the
    cost, each line of it with its arithmetic."""
    if not forecast:
        return []
    seconds = forecast.get("seconds")
    time = f"about {duration_text(seconds)}" if seconds is not None else "unknown"
    lines = [f"time:  {time} ({forecast['basis']})"]
    if forecast.get("endDate"):
        lines.append(f"ends:  {forecast['endDate']} if started now")
    lines += [
        f"       {effect}" for effect in (forecast.get("rateLimitEffect"), forecast.get("windowEffect")) if effect
    ]
    lines.append(f"cost:  ${forecast['costUsd']:.4f} on AWS")
    lines += [f"       {line['item']}: {line['arithmetic']}" for line in forecast.get("cost") or []]
    lines.append(f"       ({forecast['prices']})")
    return lines
