"""When the next delivery attempt happens: the schedule, its jitter, and Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from bcevents.delivery import retry
from bcevents.delivery.retry import next_delay, retry_after_seconds
from bcevents.settings import DEFAULT_RETRY_SCHEDULE

SCHEDULE = (4, 12, 48)
JITTER = 0.2
MAX_RETRY_AFTER_SECONDS = 86_400


def test_the_schedule_constants_are_the_documented_ones() -> None:
    assert (retry.JITTER, retry.MAX_RETRY_AFTER_SECONDS) == (JITTER, MAX_RETRY_AFTER_SECONDS)


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_jitter_stays_within_its_bounds(attempt: int) -> None:
    base = SCHEDULE[attempt - 1]
    draws = random.Random(attempt)

    delays = [next_delay(attempt, SCHEDULE, rand=draws.random) for _ in range(500)]

    assert all(d is not None and base * (1 - JITTER) <= d <= base * (1 + JITTER) for d in delays)
    assert next_delay(attempt, SCHEDULE, rand=lambda: 0.0) == pytest.approx(base * (1 - JITTER))
    assert next_delay(attempt, SCHEDULE, rand=lambda: 1.0) == pytest.approx(base * (1 + JITTER))
    assert len({round(d or 0, 6) for d in delays}) > 100  # actually jittered


def test_attempts_beyond_the_schedule_are_exhausted() -> None:
    assert next_delay(len(SCHEDULE) + 1, SCHEDULE) is None
    assert next_delay(1, ()) is None


def test_the_default_schedule_retries_for_about_72_hours() -> None:
    total = sum(next_delay(a, DEFAULT_RETRY_SCHEDULE, rand=lambda: 0.5) or 0 for a in range(1, 10))

    assert 70 * 3600 <= total <= 75 * 3600
    assert next_delay(len(DEFAULT_RETRY_SCHEDULE) + 1, DEFAULT_RETRY_SCHEDULE) is None


def test_retry_after_is_a_floor_not_a_ceiling() -> None:
    assert next_delay(1, SCHEDULE, retry_after=30, rand=lambda: 1.0) == 30
    assert next_delay(3, SCHEDULE, retry_after=1, rand=lambda: 0.5) == pytest.approx(48)


def test_retry_after_is_capped_at_a_day() -> None:
    assert next_delay(1, SCHEDULE, retry_after=10**9, rand=lambda: 0.5) == MAX_RETRY_AFTER_SECONDS


NOW = datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        (" 120 ", 120.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(seconds=90), usegmt=True), 0.0),
        ("Tue, 04 Mar 2025 10:01:00", 60.0),  # no zone: taken as GMT
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, NOW) == seconds


# --- which message stands for the notification -------------------------------------------------
DUE = "2025-03-04T10:00:00Z"
LATER = "2025-03-04T10:05:00Z"


def _message(attempts: int | None, due: str | None) -> Any:
    from bcevents.delivery.receipt import QueuedMessage

    return QueuedMessage(
        notification=None, receipt_handle="", message_id="", attempts=attempts, next_attempt_at=due
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("carried", "logged", "expected"),
    [
        ((None, None), (0, None), (0, None)),  # the poller's message: the log's place
        ((None, None), (3, DUE), (3, DUE)),  # a message from before messages carried attempts
        ((3, DUE), (3, DUE), (3, DUE)),  # the message the log expects
        ((4, LATER), (3, DUE), (4, LATER)),  # sent on, then the log write was lost: trusted
        ((2, DUE), (3, LATER), None),  # behind the log: its successor was sent before the log moved
        ((3, DUE), (3, LATER), None),  # level, another due time: the same attempt was sent on twice
        ((0, None), (0, None), (0, None)),  # sent again for want of time before any attempt
    ],
    ids=["uncarried-new", "uncarried-retrying", "current", "ahead", "behind", "other-due", "none-yet"],
)
def test_a_message_stands_for_its_place_unless_a_newer_copy_exists(
    carried: tuple[int | None, str | None],
    logged: tuple[int, str | None],
    expected: tuple[int, str | None] | None,
) -> None:
    from bcevents.delivery.receipt import position

    assert position(_message(*carried), *logged) == expected
