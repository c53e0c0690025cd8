"""The retry schedule: when a failed delivery is tried again, and when it is given up.

``DELIVERY_RETRY_SCHEDULE`` lists the delays after each failed attempt (about 72 hours in all by
default); each is jittered, and a receiver's ``Retry-After`` is a floor (capped at a day). After
the last step the notification goes to the dead-letter queue.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Each retry waits its scheduled delay times a random factor in [1 - JITTER, 1 + JITTER].
JITTER = 0.2
#: A receiver's ``Retry-After`` is honoured up to this many seconds.
MAX_RETRY_AFTER_SECONDS = 86_400


def next_delay(
    attempt: int,
    schedule: Sequence[int],
    *,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait after failed attempt number ``attempt``, or None when attempts are exhausted.

    The scheduled delay is jittered by ±JITTER; a ``Retry-After`` (capped at a day) is a floor.
    """
    if attempt > len(schedule):
        return None
    delay = schedule[attempt - 1] * (1 - JITTER + 2 * JITTER * rand())
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from ``now``; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
