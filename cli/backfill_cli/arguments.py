"""What a person types, read into what the API takes: a flow reference, `key=value` pairs, the trigger to
backfill. Pure functions, so each rule is tested without a server."""

from typing import Any

# The Schedule trigger's type names Kestra knows (the current one and the deprecated one).
SCHEDULE_TYPES = ("io.kestra.plugin.core.trigger.Schedule", "io.kestra.core.models.triggers.types.Schedule")


class BadArgument(Exception):
    """An argument that cannot be read; the message names it."""


def flow_candidates(reference: str) -> list[tuple[str, str]]:
    """(namespace, flowId) readings of NAMESPACE.FLOW_ID, the likeliest first. A flow id may hold dots too, so
    every split is a reading; the last dot first (most flow ids hold none). NAMESPACE/FLOW_ID is one reading."""
    if "/" in reference:
        namespace, _, flow_id = reference.partition("/")
        if not namespace or not flow_id or "/" in flow_id:
            raise BadArgument(f"FLOW: {reference!r} is not NAMESPACE.FLOW_ID nor NAMESPACE/FLOW_ID")
        return [(namespace, flow_id)]
    parts = reference.split(".")
    readings = [(".".join(parts[:i]), ".".join(parts[i:])) for i in range(len(parts) - 1, 0, -1)]
    readings = [(namespace, flow_id) for namespace, flow_id in readings if namespace and flow_id]
    if not readings:
        raise BadArgument(f"FLOW: {reference!r} is not NAMESPACE.FLOW_ID (e.g. dev.scheduled_flow)")
    return readings


def key_values(values: tuple[str, ...] | list[str], option: str) -> dict[str, str]:
    """`k=v` pairs in the order given; the value may hold `=`; a key given twice is refused, not overwritten."""
    pairs: dict[str, str] = {}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals or not key:
            raise BadArgument(f"{option}: {value!r} is not KEY=VALUE")
        if key in pairs:
            raise BadArgument(f"{option}: {key!r} is given twice")
        pairs[key] = text
    return pairs


def schedule_trigger_ids(flow: dict[str, Any]) -> list[str]:
    return [str(t.get("id")) for t in flow.get("triggers") or [] if t.get("type") in SCHEDULE_TYPES]


def backfill_trigger(flow: dict[str, Any], given: str | None) -> str:
    """The trigger named, or the flow's only Schedule trigger; with several and none named, the message lists
    them, since backfilling the wrong schedule replays the wrong slots."""
    found = schedule_trigger_ids(flow)
    name = f"{flow.get('namespace')}.{flow.get('id')}"
    if given is not None:
        if given not in found:
            listed = ", ".join(found) or "none"
            raise BadArgument(f"TRIGGER: {name} has no Schedule trigger {given!r} (its Schedule triggers: {listed})")
        return given
    if not found:
        raise BadArgument(f"TRIGGER: {name} has no Schedule trigger to backfill")
    if len(found) > 1:
        raise BadArgument(f"TRIGGER: {name} has {len(found)} Schedule triggers ({', '.join(found)}); name one")
    return found[0]


def rate_limit(value: str) -> int | None:
    """--max-slots-per-minute of `set`: a number, or `none` to remove the limit."""
    if value.strip().lower() == "none":
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise BadArgument(f"--max-slots-per-minute: {value!r} is neither a whole number of at least 1 nor none")
    return int(value)


WEEK = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def run_window(hours: str | None, days: str | None, zone: str | None) -> dict[str, Any] | None:
    """--run-window 01:00-06:00 [--run-days MON,TUE] [--run-zone Europe/Paris]: the backfill's runWindow (the API
    checks the times and the zone, naming the field)."""
    if hours is None:
        if days or zone:
            raise BadArgument("--run-days and --run-zone need --run-window FROM-TO")
        return None
    opens, dash, closes = hours.partition("-")
    if not dash:
        raise BadArgument(f"--run-window: {hours!r} is not FROM-TO, such as 01:00-06:00")
    window: dict[str, Any] = {"from": opens.strip(), "to": closes.strip()}
    if days:
        named = []
        for day in days.split(","):
            found = [full for full in WEEK if full.startswith(day.strip().upper()) and len(day.strip()) >= 2]
            if len(found) != 1:
                raise BadArgument(f"--run-days: {day.strip()!r} is not a day of the week (MON, TUESDAY, ...)")
            named.append(found[0])
        window["days"] = named
    if zone:
        window["timezone"] = zone
    return window


def backfill_body(
    start: str,
    end: str | None,
    labels: dict[str, str],
    inputs: dict[str, str],
    concurrency: int | None,
    order: str | None,
    reprocess: str | None,
    max_failures: int | None,
    max_slots_per_minute: int | None = None,
    window: dict[str, Any] | None = None,
    live_first: bool = True,
) -> dict[str, Any]:
    """The `backfill` object of PUT /api/v1/triggers and the dry run; options not given are left out, so the
    API's defaults apply (Kestra's: one at a time, oldest first, replay all)."""
    body: dict[str, Any] = {"start": start, "end": end}
    if labels:
        body["labels"] = [{"key": k, "value": v} for k, v in labels.items()]
    if inputs:
        body["inputs"] = inputs
    optional = {
        "concurrency": concurrency,
        "order": order,
        "reprocess": reprocess,
        "maxFailures": max_failures,
        "maxSlotsPerMinute": max_slots_per_minute,
        "runWindow": window,
        "liveFirst": None if live_first else False,  # left out: the API's default, live runs first
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body
