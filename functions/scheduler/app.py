"""EventBridge Scheduler handler, every minute: the backfill watchdog re-sends slots whose message was lost."""

from aws_lambda_powertools import Logger

from backfill_core.backfill_service import resend_stale_slots

logger = Logger(service="scheduler")


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    resent = resend_stale_slots()
    logger.info("watchdog done", extra={"resent_slots": resent})
    return {"resentSlots": resent}
