"""The live schedule: each scheduler tick dispatches the due slots of the enabled Schedule triggers that the due
index (storage/due_triggers) says are due, at most MAX_TRIGGERS_PER_TICK of them, the longest due first.

A slot is due once the tick's scheduled time has reached it. Slots the previous tick should already have
dispatched (the stack was down, the trigger was disabled) are missed, and `recoverMissedSchedules` says
which of them run: ALL, LAST (the latest) or NONE. A tick sends at most MAX_SLOTS_PER_TICK slots per
trigger, oldest first, so a trigger a year behind catches up over several ticks. Messages are sent before
the trigger's date moves, and the execution id is derived from (trigger, slot), so a crash at any point
neither loses a slot nor runs one twice.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from backfill_core.backfills import holds
from backfill_core.flows.model import TriggerSpec
from backfill_core.schedules.cron import CronSchedule
from backfill_core.schedules.kestra_time import parse_instant, storage_key
from backfill_core.slots.message import SlotMessage
from backfill_core.storage import due_triggers, flows_repository, triggers_repository, work_queue
from backfill_core.triggers.model import TriggerKey, TriggerState

MAX_SLOTS_PER_TICK = 500
MAX_TRIGGERS_PER_TICK = 500  # a tick of 500 triggers takes about 15 s on AWS (four calls each); more wait a tick
logger = Logger(child=True)


@dataclass(frozen=True)
class TickPlan:
    run: list[datetime]  # the slots to dispatch, oldest first
    evaluated_to: datetime | None  # the trigger's new date (the last slot considered); None: nothing was due


def _between(schedule: CronSchedule, since: datetime, until: datetime, limit: int) -> list[datetime]:
    """Slots with since < slot <= until."""
    return [s for s in schedule.slots(since, until, limit + 1) if s > since][:limit]


def plan_tick(
    schedule: CronSchedule,
    trigger: TriggerSpec,
    last: datetime,
    tick: datetime,
    interval: timedelta,
    limit: int | None = None,
) -> TickPlan:
    """Which slots a tick at `tick` runs, for a trigger last evaluated at `last`. Pure."""
    limit = limit or MAX_SLOTS_PER_TICK
    boundary = tick - interval  # slots up to here were the previous tick's to run: if still due, missed
    on_time = _between(schedule, max(last, boundary), tick, limit)
    if last >= boundary:
        run, evaluated = on_time, on_time
    elif trigger.recover_missed_schedules == "ALL":
        run = (_between(schedule, last, boundary, limit) + on_time)[:limit]
        evaluated = run
    else:
        latest = schedule.previous_before(boundary + timedelta(microseconds=1))
        missed = [latest] if latest is not None and latest > last else []
        run = (missed if trigger.recover_missed_schedules == "LAST" else []) + on_time
        evaluated = missed + on_time
    late_limit = trigger.late_limit()
    if late_limit is not None:  # missed slots too late to be worth running are skipped; on-time ones never
        run = [s for s in run if s > boundary or tick - s <= late_limit]
    return TickPlan(run=run, evaluated_to=evaluated[-1] if evaluated else None)


def tick(tick_time: datetime, interval: timedelta) -> int:
    """One scheduler tick over the triggers due by `tick_time` (storage/due_triggers), at most
    MAX_TRIGGERS_PER_TICK of them, the longest due first; returns how many slots it dispatched."""
    dispatched = 0
    for key in due_triggers.due_triggers(tick_time, MAX_TRIGGERS_PER_TICK):
        try:
            dispatched += _tick_due(key, tick_time, interval)
        except Exception:  # one broken trigger must not stop the schedule of the others; it stays due
            logger.exception("scheduler could not evaluate a trigger", extra={"trigger": key.pk})
    return dispatched


def _tick_due(key: TriggerKey, tick_time: datetime, interval: timedelta) -> int:
    # The state first, then the flow: a revision stored in between has put the trigger due at once again, and
    # the writes below, conditioned on the `due` read here, then fail rather than undo it.
    state = triggers_repository.get_state(key)
    due = state.due
    if due is None or due > storage_key(tick_time):
        return 0  # another tick moved it since the index was read
    stored = flows_repository.find(key.tenant, key.namespace, key.flow_id)
    if stored is not None and stored.flow is None:  # its schedule waits for a valid revision, then recovers
        logger.warning("live schedule skipped", extra={"reason": stored.invalid_message()})
    flow = stored.flow if stored is not None else None
    trigger = flow.trigger(key.trigger_id) if flow is not None else None
    if (
        stored is None
        or flow is None
        or trigger is None
        or not trigger.is_schedule
        or flow.trigger_disabled(trigger, state.disabled)
    ):
        # The date stays (re-enabling recovers what was missed, per recoverMissedSchedules); the trigger leaves
        # the index until what put it out changes (a revision, enabling it), which puts it back at once.
        due_triggers.move(key, due, None)
        return 0
    return _tick_trigger(key, stored, trigger, state, due, tick_time, interval)


def fingerprint(trigger: TriggerSpec) -> str:
    """What the trigger's slots depend on: when it changes, the old evaluation date means nothing."""
    return f"{trigger.cron}|{trigger.timezone}|{trigger.with_seconds}"


def _tick_trigger(
    key: TriggerKey,
    stored,
    trigger: TriggerSpec,
    state: TriggerState,
    due: str,
    tick_time: datetime,
    interval: timedelta,
) -> int:
    """Dispatch the trigger's due slots, then move its date and its place in the due index from `due`."""
    current = fingerprint(trigger)
    fresh = state.date is None or state.schedule != current
    # A new trigger, or one whose cron or timezone changed, starts at the current tick (or at the flow's
    # registration, if later): the time before it existed is not "missed".
    last = max(parse_instant(stored.updated), tick_time - interval) if fresh or state.date is None else state.date
    schedule = trigger.schedule()
    plan = plan_tick(schedule, trigger, last, tick_time, interval)
    if plan.run:
        try:  # the trigger's backfills step aside first, so the live slot meets free executors and places
            holds.yield_to_live(key, tick_time)
        except Exception:  # never at the cost of the live slot itself; the watchdog lifts a hold left behind
            logger.exception("could not hold the trigger's backfills for its live slot", extra={"trigger": key.pk})
        work_queue.send(
            [
                SlotMessage(
                    kind="schedule",
                    tenant=key.tenant,
                    namespace=key.namespace,
                    flow_id=key.flow_id,
                    trigger_id=key.trigger_id,
                    date=slot,
                )
                for slot in plan.run
            ]
        )
    if plan.evaluated_to is not None or fresh:
        # Written even when nothing was due, so a fresh trigger's start point is kept: a slot due before the
        # next tick that fails is then missed, not lost.
        evaluated = plan.evaluated_to or last
        due_triggers.advance(key, state.date, evaluated, current, due, schedule.next_after(evaluated))
    elif state.date is not None:  # due at once (a revision, enabling it) with nothing to run yet: its next slot
        due_triggers.move(key, due, schedule.next_after(state.date))
    return len(plan.run)
