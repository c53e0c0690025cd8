"""The events queue: notifications go to SQS in batches of ten."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3

from bcevents.errors import ServiceError
from bcevents.observability import logger
from bcevents.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH = 10
_ATTEMPTS = 3


class EnqueueFailed(ServiceError):
    """Some notifications could not be sent to the events queue (the poll will repeat them)."""


@lru_cache(maxsize=1)
def _client() -> SQSClient:
    return boto3.session.Session().client("sqs")


def send_entries(entries: Sequence[dict[str, Any]], queue_url: str | None = None) -> None:
    """Send SQS entries (``Id``, ``MessageBody``, ``MessageAttributes``) in batches of ten.

    SendMessageBatch can succeed for some entries and fail for others; the failed ones are sent
    again (twice more), and if any still fail the caller is told, so it does not checkpoint.
    """
    url = queue_url or get_settings().events_queue_url
    for start in range(0, len(entries), SQS_BATCH):
        pending = list(entries[start : start + SQS_BATCH])
        for _ in range(_ATTEMPTS):
            response = _client().send_message_batch(QueueUrl=url, Entries=pending)  # type: ignore[arg-type]
            failed = {failure["Id"] for failure in response.get("Failed", [])}
            if not failed:
                break
            logger.warning("some notifications were not enqueued", extra={"failed": len(failed)})
            pending = [entry for entry in pending if entry["Id"] in failed]
        else:
            raise EnqueueFailed(f"{len(pending)} notifications could not be enqueued")
