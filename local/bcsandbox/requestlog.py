"""What the store saw: a bounded log of API requests, and hooks run as each one is answered."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class RequestRecord:
    """One API request. `at` is `time.monotonic()` at arrival; `store_time` the store clock then."""

    method: str
    path: str
    query: str
    status: int
    at: float
    store_time: int
    fault: str | None = None

    @property
    def params(self) -> dict[str, str]:
        """Query parameters, first value of each."""
        return {k: v[0] for k, v in parse_qs(self.query, keep_blank_values=True).items()}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, for the admin interface."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "at": self.at,
            "store_time": self.store_time,
            "fault": self.fault,
        }


RequestHook = Callable[[RequestRecord], None]


class RequestLog:
    """Recent requests (bounded), a total count (unbounded) and the request hooks."""

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._entries: deque[RequestRecord] = deque(maxlen=size)
        self._count = 0
        self._hooks: list[RequestHook] = []

    def append(self, entry: RequestRecord) -> None:
        """Record one request."""
        with self._lock:
            self._entries.append(entry)
            self._count += 1

    def entries(self) -> list[RequestRecord]:
        """Recent requests, oldest first."""
        with self._lock:
            return list(self._entries)

    @property
    def count(self) -> int:
        """Requests recorded since the last clear."""
        with self._lock:
            return self._count

    def clear(self, size: int | None = None) -> None:
        """Forget every request (and optionally change the bound)."""
        with self._lock:
            self._size = size or self._size
            self._entries = deque(maxlen=self._size)
            self._count = 0

    def subscribe(self, hook: RequestHook) -> Callable[[], None]:
        """Add a hook; returns a function that removes it."""
        with self._lock:
            self._hooks.append(hook)

        def remove() -> None:
            with self._lock:
                if hook in self._hooks:
                    self._hooks.remove(hook)

        return remove

    def hooks(self) -> list[RequestHook]:
        """The current hooks."""
        with self._lock:
            return list(self._hooks)

    def clear_hooks(self) -> None:
        """Remove every hook."""
        with self._lock:
            self._hooks.clear()
