"""The deliver function: SQS batches of notifications in, unexpected failures (batchItemFailures) out.

A notification waiting for its next attempt is carried on by a new, delayed message: the one
received counts as processed and is deleted, so nothing waits in flight.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from bcevents.delivery import attempt, receipt
from bcevents.observability import logger, metrics, tracer
from bcevents.settings import get_settings


class _Processor(BatchProcessor):
    """Logs the failures nobody planned: a waiting notification is a new message, not a failure."""

    def failure_handler(self, record: Any, exception: Any) -> Any:
        logger.error("notification processing failed", exc_info=exception)
        return super().failure_handler(record, exception)


# Retries are reported per message: one failing callback never holds up the rest of the batch.
processor = _Processor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# Once per notification id and redelivery: a redelivery (same id, the next number) is POSTed again.
idempotency_config = IdempotencyConfig(
    event_key_jmespath="[notification.id, redelivery]", raise_on_no_idempotency_key=True
)


def _deliver(message: receipt.QueuedMessage, remaining_ms: int | None = None) -> dict[str, Any]:
    return attempt.deliver(message, remaining_ms=remaining_ms).as_dict()


@lru_cache(maxsize=1)
def idempotent_delivery() -> Callable[..., dict[str, Any]]:
    """Delivery, done once per notification id and redelivery (built on first use: it needs the settings).

    Only a settled outcome is saved; a pending one raises DeliveryPending, which deletes the
    idempotency record (the notification's next message must be attempted).
    """
    store = DynamoDBPersistenceLayer(
        table_name=get_settings().idempotency_table, boto3_session=boto3.session.Session()
    )
    once: Callable[..., dict[str, Any]] = idempotent_function(
        data_keyword_argument="message", config=idempotency_config, persistence_store=store
    )(_deliver)
    return once


def _record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> dict[str, Any]:
    message = receipt.queued_message(record.raw_event)
    # Logs correlate on the notification id, which the poller logs too (a batch has many messages).
    logger.set_correlation_id(message.notification.id)
    early = receipt.requeue_if_early(message)
    if early is not None:
        return early.as_dict()
    remaining = lambda_context.get_remaining_time_in_millis() if lambda_context else None
    try:
        result: dict[str, Any] = idempotent_delivery()(message=message, remaining_ms=remaining)
    except receipt.DeliveryPending as pending:
        # A new message carries the notification on (or another copy does): this one is done.
        return pending.outcome.as_dict()
    return result


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency_config.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=_record_handler, processor=processor, context=context
    )
