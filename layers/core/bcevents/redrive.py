"""The two SQS calls of delivery: postpone a message (its visibility) and move it to the dead-letter queue.

Backoff lives in message visibility: a failed notification stays invisible until its next attempt
(at most SQS's 12 hours at a time). A notification whose attempts are exhausted is copied to the
dead-letter queue by delivery itself, with its attempt count, and the original is then deleted.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from bcevents.envelope import Notification, to_sqs_entry
from bcevents.observability import logger
from bcevents.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: The message attribute naming a redelivery's number (absent on a first delivery).
REDELIVERY_ATTRIBUTE = "redelivery"
#: SQS refuses a visibility timeout above 12 hours.
MAX_VISIBILITY_SECONDS = 43_200
#: What SQS answers when the receipt handle is stale (the message was received again meanwhile).
_STALE_HANDLE_CODES = frozenset({"ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight"})


@lru_cache(maxsize=1)
def _client() -> SQSClient:
    return boto3.session.Session().client("sqs")


def postpone(receipt_handle: str, seconds: int) -> None:
    """Keep a received message of the events queue invisible for ``seconds`` (capped at 12 hours).

    A stale receipt handle is not an error: the message then comes back after the queue's own
    visibility timeout, and its next receipt checks when it is due again.
    """
    visibility = max(0, min(seconds, MAX_VISIBILITY_SECONDS))
    try:
        _client().change_message_visibility(
            QueueUrl=get_settings().events_queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=visibility,
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _STALE_HANDLE_CODES:
            raise
        logger.warning("message visibility not changed: stale receipt handle", extra={"seconds": visibility})


def dead_letter(notification: Notification, *, attempts: int, last_error: str, redelivery: int = 0) -> None:
    """Send a copy of the notification to the dead-letter queue, with why and after how many attempts."""
    entry = to_sqs_entry(notification)
    attributes: dict[str, Any] = {
        **entry.get("MessageAttributes", {}),
        "attempts": {"DataType": "Number", "StringValue": str(attempts)},
        "last_error": {"DataType": "String", "StringValue": last_error},
    }
    if redelivery:
        attributes[REDELIVERY_ATTRIBUTE] = {"DataType": "Number", "StringValue": str(redelivery)}
    _client().send_message(
        QueueUrl=get_settings().events_dlq_url, MessageBody=entry["MessageBody"], MessageAttributes=attributes
    )
