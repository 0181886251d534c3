"""A backfill's progress item (pk PROGRESS#<id>, sk PROGRESS, on no index), written by single UpdateItems.

Each executor's write names only its own lane (`slots.<lane>`) and the flags it depends on in its condition; the
cursor and the counters move by arithmetic in the update itself. So two slots' writes never make each other fail,
and a write that fails (a person changed the backfill meanwhile) says what it found, so its retry reads nothing.
"""

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from backfill_core.aws_clients import dynamodb
from backfill_core.backfills.model import BackfillStatus, SlotState
from backfill_core.backfills.progress import LaneSlot, Pace, Progress, code_of
from backfill_core.backfills.progress_changes import ProgressChange
from backfill_core.schedules.kestra_time import from_storage_key, storage_key
from backfill_core.settings import settings
from backfill_core.storage.conditions import condition_failed
from backfill_core.storage.updates import Update, wire

PROGRESS = "PROGRESS"
UNSENT_CANCELLED = "cancelledUnsent"  # the slots a cancel found never sent; `cancelled` counts them too when read
_NUMBERS = (
    "slotTotal",
    "concurrency",
    "nextSlot",
    "round",
    "failuresSeen",
    "succeeded",
    "failed",
    "skipped",
    "cancelled",
)


def key(backfill_id: str) -> dict:
    return {"pk": {"S": f"{PROGRESS}#{backfill_id}"}, "sk": {"S": PROGRESS}}


def item(backfill_id: str, progress: Progress) -> dict:
    stored = {
        **key(backfill_id),
        "slotTotal": progress.total,
        "concurrency": progress.concurrency,
        "nextSlot": progress.cursor,
        "round": progress.round,
        "failuresSeen": progress.failures_seen,
        "succeeded": progress.succeeded,
        "failed": progress.failed,
        "skipped": progress.skipped,
        "cancelled": progress.cancelled,
    }
    result = {name: ({"N": str(value)} if isinstance(value, int) else value) for name, value in stored.items()}
    result |= {
        "slots": {"M": {str(lane): {"N": str(code)} for lane, code in progress.slots.items()}},
        "rounds": {"M": {str(lane): {"N": str(round_)} for lane, round_ in progress.rounds.items()}},
        "retry": {"L": [{"N": str(position)} for position in progress.retry]},
        "paused": {"BOOL": progress.paused},
        "triggerDisabled": {"BOOL": progress.trigger_disabled},
        "backfillStatus": {"S": progress.status.value},
        "kill": {"BOOL": progress.kill},
        "updated": {"S": storage_key(progress.updated)},
    }
    if progress.pause_reason is not None:
        result["pauseReason"] = {"S": progress.pause_reason}
    if progress.window_closed:
        result["windowClosed"] = {"BOOL": True}
    if progress.yielding_since is not None:
        result["yieldingSince"] = {"S": progress.yielding_since}
    if progress.max_slots_per_minute is not None:
        result["maxSlotsPerMinute"] = {"N": str(progress.max_slots_per_minute)}
    if progress.next_dispatch_us is not None:
        result["nextDispatchUs"] = {"N": str(progress.next_dispatch_us)}
    return result


def progress_of(found: dict) -> Progress:
    numbers = {name: int(found[name]["N"]) for name in _NUMBERS}
    return Progress(
        total=numbers["slotTotal"],
        concurrency=numbers["concurrency"],
        cursor=numbers["nextSlot"],
        round=numbers["round"],
        failures_seen=numbers["failuresSeen"],
        succeeded=numbers["succeeded"],
        failed=numbers["failed"],
        skipped=numbers["skipped"],
        cancelled=numbers["cancelled"] + int(found.get(UNSENT_CANCELLED, {"N": "0"})["N"]),
        slots={int(lane): int(code["N"]) for lane, code in found["slots"]["M"].items()},
        rounds={int(lane): int(round_["N"]) for lane, round_ in found["rounds"]["M"].items()},
        retry=[int(position["N"]) for position in found["retry"]["L"]],
        paused=found["paused"]["BOOL"],
        pause_reason=found["pauseReason"]["S"] if "pauseReason" in found else None,
        trigger_disabled=found["triggerDisabled"]["BOOL"],
        status=BackfillStatus(found["backfillStatus"]["S"]),
        kill=found["kill"]["BOOL"],
        updated=from_storage_key(found["updated"]["S"]),
        window_closed=found.get("windowClosed", {}).get("BOOL", False),
        yielding_since=found["yieldingSince"]["S"] if "yieldingSince" in found else None,
        max_slots_per_minute=int(found["maxSlotsPerMinute"]["N"]) if "maxSlotsPerMinute" in found else None,
        next_dispatch_us=int(found["nextDispatchUs"]["N"]) if "nextDispatchUs" in found else None,
    )


def get(backfill_id: str) -> Progress | None:
    found = dynamodb().get_item(TableName=settings().triggers_table, Key=key(backfill_id), ConsistentRead=True)
    return progress_of(found["Item"]) if "Item" in found else None


def apply(backfill_id: str, update: Update, now: datetime) -> tuple[bool, Progress | None]:
    """Write it; True and the progress after, or False and the progress found instead (None: there is none)."""
    try:
        answer = dynamodb().update_item(**update.request(key(backfill_id), now))
    except ClientError as exc:
        if not condition_failed(exc):
            raise
        found: dict | None = dict(exc.response).get("Item")  # type: ignore[assignment]
        return False, progress_of(found) if found else None
    return True, progress_of(answer["Attributes"])


def claim(backfill_id: str, slot: LaneSlot, now: datetime) -> tuple[bool, Progress | None]:
    """The lane's DISPATCHED slot becomes RUNNING, unless the backfill is held or cancelled."""
    update = Update()
    slot_path, _ = update.holds(slot)
    update.running()
    update.not_held()
    update.sets.append(f"{slot_path} = {update.value('claimed', code_of(slot.position, SlotState.RUNNING))}")
    return apply(backfill_id, update, now)


def park(backfill_id: str, slot: LaneSlot, now: datetime, close_window: bool = False) -> tuple[bool, Progress | None]:
    """The lane's DISPATCHED (or claimed, never started) slot is kept for unpause, while the backfill is held;
    `close_window`: it came outside the backfill's run window, which this write marks closed."""
    update = Update()
    slot_path, _ = update.holds(slot)
    update.running()
    if close_window:
        update.sets.append(f"windowClosed = {update.value('true', True)}")
    else:
        update.held()
    update.sets.append(f"{slot_path} = {update.value('parked', code_of(slot.position, SlotState.PARKED))}")
    return apply(backfill_id, update, now)


def end_slot(
    backfill_id: str, slot: LaneSlot, counter: str, then: str, now: datetime, **premises: Any
) -> tuple[bool, Progress | None]:
    """Count the lane's slot in `counter` (succeeded, failed, skipped or cancelled), then, as `then` says: take the
    next fresh slot from the cursor (CURSOR), the first queued retry (RETRY), or nothing (IDLE). `premises` are
    what the choice was made on, checked by the write: `retry_head` and `round` for RETRY; for IDLE, `why`
    (cancelled, held, window or above) or `pause` (the reason, with `failed` and `failures_seen` as seen). A lane
    above the window gives what it takes to the lane `successor` (its slot as seen: `successor_seen`); such a move,
    and going idle above the window, are decided on the `concurrency` and on how many `lanes` hold a slot, as seen.
    A slot taken under the rate limit carries its `pace`."""
    update = Update()
    slot_path, round_path = update.holds(slot)
    update.adds.append(f"{counter} {update.value('one', 1)}")
    if "lanes" in premises:
        update.conditions.append(f"concurrency = {update.value('window', premises['concurrency'])}")
        update.conditions.append(f"size(slots) = {update.value('lanes', premises['lanes'])}")
    if then in ("CURSOR", "RETRY"):
        update.running()
        update.not_held()
        paced(update, premises.get("pace"))
        if "successor" in premises:
            update.removes += [slot_path, round_path]
            slot_path, round_path = update.lane(premises["successor"], "successor")
            seen = premises["successor_seen"]
            update.conditions.append(
                f"attribute_not_exists({slot_path})"
                if seen is None
                else f"{slot_path} = {update.value('successorseen', seen)}"
            )
        else:
            update.conditions.append(f"concurrency > {update.value('lanenumber', slot.lane)}")
    if then == "CURSOR":
        update.conditions.append(f"size(retry) = {update.value('zero', 0)}")
        update.sets.insert(0, f"{slot_path} = nextSlot")  # before the cursor moves: the old value is taken
        update.sets.append(f"nextSlot = nextSlot + {update.value('one', 1)}")
        update.removes.append(round_path)
    elif then == "RETRY":
        head, round_ = premises["retry_head"], premises["round"]
        update.conditions.append(f"retry[0] = {update.value('head', head)} AND round = {update.value('r', round_)}")
        update.sets.append(f"{slot_path} = {update.value('retried', head)}")
        update.sets.append(f"{round_path} = {update.value('r', round_)}")
        update.removes.append("retry[0]")
    else:
        update.removes += [slot_path, round_path]
        _idle_premise(update, premises)
    return apply(backfill_id, update, now)


def paced(update: Update, pace: Pace | None) -> None:
    """A slot sent under the rate limit moves the pacing on from the time it was computed from, at the rate read;
    one sent without a limit requires that none was set meanwhile."""
    if pace is None:
        update.conditions.append("attribute_not_exists(maxSlotsPerMinute)")
        return
    update.conditions.append(f"maxSlotsPerMinute = {update.value('rate', pace.rate)}")
    if pace.seen_us is None:
        update.conditions.append("attribute_not_exists(nextDispatchUs)")
    else:
        update.conditions.append(f"nextDispatchUs = {update.value('seenus', pace.seen_us)}")
    update.sets.append(f"nextDispatchUs = {update.value('nextus', pace.next_us)}")


def _idle_premise(update: Update, premises: dict[str, Any]) -> None:
    if "pause" in premises:  # the failure policy pauses the backfill with this slot's failure
        update.running()
        false = update.value("false", False)
        update.conditions.append(
            f"paused = {false} AND failed = {update.value('seenfailed', premises['failed'])}"
            f" AND failuresSeen = {update.value('seenseen', premises['failures_seen'])}"
        )
        update.sets += [
            f"paused = {update.value('true', True)}",
            f"pauseReason = {update.value('reason', premises['pause'])}",
        ]
    elif premises["why"] == "cancelled":
        update.running(False)
    elif premises["why"] == "held":
        update.running()
        update.held()
    elif premises["why"] == "window":  # outside the run window: the lane stops and marks it closed
        update.running()
        update.sets.append(f"windowClosed = {update.value('true', True)}")
    else:  # above: the concurrency was lowered below this lane (end_slot pins it, and the lanes in use)
        update.running()


# Progress's names for the attributes a change may set or expect, as stored.
_STORED = {
    "total": "slotTotal",
    "cursor": "nextSlot",
    "status": "backfillStatus",
    "pause_reason": "pauseReason",
    "trigger_disabled": "triggerDisabled",
    "failures_seen": "failuresSeen",
    "window_closed": "windowClosed",
    "yielding_since": "yieldingSince",
    "max_slots_per_minute": "maxSlotsPerMinute",
    "next_dispatch_us": "nextDispatchUs",
}


def change(backfill_id: str, wanted: ProgressChange, now: datetime) -> tuple[bool, Progress | None]:
    """Write a person's change in one update, if what it was computed from is unchanged."""
    return apply(backfill_id, _update_of(wanted), now)


def transaction_update(backfill_id: str, wanted: ProgressChange, now: datetime) -> dict:
    """The change as an Update of a transaction (which returns no values)."""
    request = _update_of(wanted).request(key(backfill_id), now)
    del request["ReturnValues"], request["ReturnValuesOnConditionCheckFailure"]
    return request


def _update_of(wanted: ProgressChange) -> Update:
    update = Update()
    for n, (name, value) in enumerate(wanted.expect.items()):
        stored = _STORED.get(name, name)
        if value is None:
            update.conditions.append(f"attribute_not_exists({stored})")
        else:
            update.values[f":e{n}"] = wire(value)
            update.conditions.append(f"{stored} = :e{n}")
    fresh_lanes = []
    for n, (lane, lane_change) in enumerate(sorted(wanted.lanes.items())):
        slot_path, round_path = update.lane(lane, f"l{n}")
        if lane_change.seen is None:
            update.conditions.append(f"attribute_not_exists({slot_path})")
        else:
            update.conditions.append(f"{slot_path} = {update.value(f'l{n}seen', lane_change.seen)}")
        if lane_change.fresh is not None:
            fresh_lanes.append(f"{slot_path} = nextSlot + {update.value(f'l{n}fresh', lane_change.fresh)}")
            update.removes.append(round_path)
        elif lane_change.code is not None:
            update.sets.append(f"{slot_path} = {update.value(f'l{n}code', lane_change.code)}")
            if lane_change.round:
                update.sets.append(f"{round_path} = {update.value(f'l{n}round', lane_change.round)}")
            else:
                update.removes.append(round_path)
        else:
            update.removes += [slot_path, round_path]
    update.sets[:0] = fresh_lanes  # before the cursor moves: they take its old value
    if wanted.fresh:
        update.sets.append(f"nextSlot = nextSlot + {update.value('fresh', wanted.fresh)}")
    for n, (name, value) in enumerate(wanted.sets.items()):
        stored = _STORED.get(name, name)
        if value is None:
            update.removes.append(stored)
        else:
            update.values[f":s{n}"] = wire(value)
            update.sets.append(f"{stored} = :s{n}")
    for n, (name, amount) in enumerate(wanted.adds.items()):
        update.adds.append(f"{name} {update.value(f'a{n}', amount)}")
    if wanted.unsent_cancelled:  # counted where the cursor stands; past the end (a lane's empty take), none is left
        update.conditions.append("nextSlot <= slotTotal")
        update.sets.append(f"{UNSENT_CANCELLED} = slotTotal - nextSlot")
    if not update.conditions:
        update.conditions.append("attribute_exists(pk)")
    return update
