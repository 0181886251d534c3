"""SQS handler: each record is one slot to run, or one execution to run by id. Failures are reported per record
(partial batch)."""

from backfill_core.cold_start import imports_without_collection

with imports_without_collection():
    import math
    import random
    import time
    from collections.abc import Callable

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from backfill_core import metrics as backfill_metrics
    from backfill_core.errors import BackfillContended, SlotNotDue
    from backfill_core.ids import backfill_execution_id, live_execution_id
    from backfill_core.metrics import flushed_by
    from backfill_core.schedules.kestra_time import storage_key
    from backfill_core.settings import load_settings, settings
    from backfill_core.slots.by_id import run_execution
    from backfill_core.slots.message import ExecutionMessage, parse_work_message
    from backfill_core.slots.runner import run_slot
    from backfill_core.storage import work_queue
    from backfill_core.tracing import traced

load_settings()  # the cold start: an invalid or missing setting fails it, naming the variable
logger = Logger(service="executor")
metrics = Metrics(service="executor")
# A batch whose records all failed is still a partial-failure answer, not an error of the invocation.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_context = None

SAFETY_MARGIN_SECONDS = 10.0
CONTENDED_RETRY_SECONDS = (5, 30)  # spread out, so the writers that collided do not collide again


def _budget_seconds() -> float:
    """What a task may still use: the task timeout, bounded by the time this invocation has left."""
    limit = float(settings().task_timeout_seconds)
    if _context is not None:
        limit = min(limit, _context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS)
    return max(limit, 1.0)


def record_handler(record: SQSRecord) -> None:
    """A message no executor can parse fails on every receive and goes to the dead-letter queue: a person
    must look at it. A backfill slot's message is let go on its last receive instead: the backfill record
    still holds the slot in flight, and the watchdog sends it again, so the DLQ keeps only what needs a person."""
    work = parse_work_message(record.body)
    if isinstance(work, ExecutionMessage):
        logger.append_keys(execution_id=work.execution_id)
        _run(record, lambda: run_execution(work, _budget_seconds))
        return
    message = work
    logger.append_keys(backfill_id=message.backfill_id, slot=message.date.isoformat())
    slot = storage_key(message.date)
    if message.backfill_id is not None:
        logger.append_keys(execution_id=backfill_execution_id(message.backfill_id, slot, message.round))
    else:  # the live schedule's slot
        logger.append_keys(execution_id=live_execution_id(message.trigger_key.pk, slot))
    if message.kind == "backfill":
        backfill_metrics.slot_received(time.time() - int(record.attributes.sent_timestamp) / 1000)
    try:
        _run(record, lambda: run_slot(message, _budget_seconds))
    except Exception:
        last_receive = int(record.attributes.approximate_receive_count) >= settings().work_queue_max_receives
        if message.kind != "backfill" or not last_receive:
            raise
        logger.exception("slot message failed on its last receive; the watchdog will send its slot again")
        backfill_metrics.slot_message_let_go()


def _run(record: SQSRecord, work: Callable[[], None]) -> None:
    try:
        work()
    except SlotNotDue as early:
        work_queue.retry_soon(record.receipt_handle, min(math.ceil(early.seconds), work_queue.MAX_VISIBILITY_SECONDS))
        raise
    except BackfillContended:
        logger.warning("backfill record contended; the slot's message comes back soon")
        try:
            work_queue.retry_soon(record.receipt_handle, random.randint(*CONTENDED_RETRY_SECONDS))
        except Exception:  # the message still comes back, after the queue's visibility timeout
            logger.exception("could not shorten the message's visibility timeout")
        raise


@traced
@logger.inject_lambda_context(clear_state=True)  # a record's backfill and execution ids are not the next one's
@flushed_by(metrics)
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    global _context
    _context = context
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
