"""SQS handler: each record is one slot to run. Failures are reported per record (partial batch)."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from backfill_core.models import SlotMessage
from backfill_core.settings import settings
from backfill_core.slot_runner import run_slot

logger = Logger(service="executor")
# A batch whose records all failed is still a partial-failure answer, not an error of the invocation.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_context = None

SAFETY_MARGIN_SECONDS = 10.0


def _budget_seconds() -> float:
    """What a task may still use: the task timeout, bounded by the time this invocation has left."""
    limit = float(settings().task_timeout_seconds)
    if _context is not None:
        limit = min(limit, _context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS)
    return max(limit, 1.0)


def record_handler(record: SQSRecord) -> None:
    message = SlotMessage.model_validate_json(record.body)
    logger.append_keys(backfill_id=message.backfill_id, slot=message.date.isoformat())
    run_slot(message, _budget_seconds)


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    global _context
    _context = context
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
