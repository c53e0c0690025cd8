"""Where a pass hands its pages: events to notify and watermarks to checkpoint.

The pager does no AWS I/O; it calls a :class:`Sink`. The production one is
``polling.queue_sink.QueueSink``; tests and benchmarks pass their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bcevents.compat.envelope import ChangeEvent
from bcevents.polling.watermark import Watermark


class Sink(Protocol):
    """What a pass needs from the world beyond the store."""

    def publish(self, resource: str, changes: Sequence[ChangeEvent]) -> None:
        """Notify a page's changes; raise PublishFailed if they are not safely handed on (no
        checkpoint follows, and the pager moves on to the next resource)."""

    def checkpoint(self, resource: str, watermark: Watermark) -> None:
        """Save how far the resource is polled (raise LeaseHeld if a later run took over)."""
