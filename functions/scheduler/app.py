"""EventBridge Scheduler handler, every minute: the live schedule's tick, then the watchdogs of backfill slots and of
executions whose message was lost (first, until it is done, the listing of flows stored before the due index).

The schedule passes its scheduled time (`<aws.scheduler.scheduled-time>`) as `scheduledTime`, so the tick
evaluates the minute it stands for, whatever its own delay; without one, it uses the current time.
"""

from backfill_core.cold_start import imports_without_collection

with imports_without_collection():
    from datetime import timedelta

    from aws_lambda_powertools import Logger, Metrics

    from backfill_core.backfills.watchdog import resend_stale_slots
    from backfill_core.metrics import flushed_by
    from backfill_core.schedules.kestra_time import now, parse_instant
    from backfill_core.settings import load_settings, settings
    from backfill_core.slots.execution_messages import requeue_overdue
    from backfill_core.tracing import traced
    from backfill_core.triggers import listing_migration, live_schedule

load_settings()  # the cold start: an invalid or missing setting fails it, naming the variable
logger = Logger(service="scheduler")
metrics = Metrics(service="scheduler")


@traced
@logger.inject_lambda_context(clear_state=True)
@flushed_by(metrics)
def lambda_handler(event: dict, context) -> dict:
    scheduled = (event or {}).get("scheduledTime")
    tick_time = parse_instant(scheduled) if scheduled else now()
    interval = timedelta(seconds=settings().scheduler_interval_seconds)
    listing_migration.list_stored_flows(lambda: context.get_remaining_time_in_millis() / 1000)
    dispatched = live_schedule.tick(tick_time, interval)
    resent = resend_stale_slots()
    requeued = requeue_overdue()
    logger.info(
        "tick done",
        extra={"tick": tick_time.isoformat(), "dispatched": dispatched, "resent": resent, "requeued": requeued},
    )
    return {"dispatchedSlots": dispatched, "resentSlots": resent}
