"""BigCommerce's per-store request quota: a fixed window on a monotonic clock (research §5)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Quota:
    """One request's view of the quota, as the four `X-Rate-Limit-*` headers report it."""

    allowed: bool
    quota: int
    left: int
    window_ms: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        """The headers BigCommerce sends on OAuth API responses (About page, "Response headers")."""
        return {
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Requests-Left": str(self.left),
            "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
            "X-Rate-Limit-Time-Reset-Ms": str(self.reset_ms),
        }


class RateLimiter:
    """Each API request takes one unit; the window starts at the first request after the last ended.

    `time_scale` compresses the window in real time for benchmarks (sandbox ms per real ms);
    the headers still report sandbox milliseconds.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._window_start: float | None = None
        self._used = 0

    def _elapsed_ms(self, start: float, time_scale: float) -> float:
        return (self._monotonic() - start) * 1000.0 * time_scale

    def take(self, quota: int, window_ms: int, time_scale: float) -> Quota:
        """Spend one unit if any is left; the answer says whether the request may proceed."""
        with self._lock:
            start = self._window_start
            if start is None or self._elapsed_ms(start, time_scale) >= window_ms:
                start = self._window_start = self._monotonic()
                self._used = 0
            reset_ms = max(1, math.ceil(window_ms - self._elapsed_ms(start, time_scale)))
            if self._used >= quota:
                return Quota(False, quota, 0, window_ms, reset_ms)
            self._used += 1
            return Quota(True, quota, quota - self._used, window_ms, reset_ms)

    def peek(self, quota: int, window_ms: int, time_scale: float) -> Quota:
        """The quota as it stands, spending nothing."""
        with self._lock:
            start = self._window_start
            if start is None or self._elapsed_ms(start, time_scale) >= window_ms:
                return Quota(True, quota, quota, window_ms, window_ms)
            reset_ms = max(1, math.ceil(window_ms - self._elapsed_ms(start, time_scale)))
            return Quota(self._used < quota, quota, max(0, quota - self._used), window_ms, reset_ms)

    def reset(self) -> None:
        """Start afresh: the next request opens a new window."""
        with self._lock:
            self._window_start = None
            self._used = 0
