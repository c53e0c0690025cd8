"""The store's own clock: real UTC time by default, settable, advanceable and freezable."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class StoreClock:
    """BigCommerce's "now" as the sandbox tells it (`/v2/time`, record dates, the Date header).

    Tests set it to make hundreds of records share one second or to jump backwards; a frozen
    clock stands still until advanced, a ticking one moves with real time from where it was set.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> datetime:
        """The store's current time, timezone-aware UTC."""
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def timestamp(self) -> float:
        """The store's current time as Unix seconds (with fractions)."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def seconds(self) -> int:
        """Whole Unix seconds: the resolution records and `/v2/time` use."""
        return int(self.timestamp() // 1)

    def set(self, when: datetime, *, frozen: bool = True) -> None:
        """Jump to `when` (naive means UTC), frozen there or ticking on from it."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        target = when.timestamp()
        with self._lock:
            if frozen:
                self._frozen_at = target
            else:
                self._frozen_at = None
                self._offset = target - time.time()

    def advance(self, seconds: float) -> None:
        """Move forward (or backward, if negative) by `seconds`."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def freeze(self) -> None:
        """Stop the clock where it stands."""
        now = self.timestamp()
        with self._lock:
            self._frozen_at = now

    def unfreeze(self) -> None:
        """Let the clock tick on from where it stands."""
        now = self.timestamp()
        with self._lock:
            self._frozen_at = None
            self._offset = now - time.time()

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._frozen_at = None
            self._offset = 0.0

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still."""
        with self._lock:
            return self._frozen_at is not None
