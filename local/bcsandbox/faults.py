"""Injected failures: what a flaky network or an overloaded BigCommerce does to a client.

Faults are queued per path prefix and consumed first in, first out; a matching fault pre-empts
authentication, rate limiting and the request itself, as a proxy in front of the store would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = frozenset(
    {
        "status",
        "delay",
        "reset",
        "malformed_json",
        "truncated",
        "wrong_content_type",
        "rate_limit",
        "empty_204",
    }
)
_OPTIONS: dict[str, frozenset[str]] = {
    "status": frozenset({"status", "retry_after", "body"}),
    "delay": frozenset({"seconds"}),
    "reset": frozenset(),
    "malformed_json": frozenset({"status"}),
    "truncated": frozenset({"status"}),
    "wrong_content_type": frozenset({"status"}),
    "rate_limit": frozenset({"reset_ms", "with_headers"}),
    "empty_204": frozenset(),
}


@dataclass
class Fault:
    """One queued failure; `remaining` counts the requests it still applies to."""

    path_prefix: str
    kind: str
    remaining: int
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: Any) -> Any:
        """An option with its default."""
        return self.options.get(name, default)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, for the admin interface."""
        return {"path_prefix": self.path_prefix, "kind": self.kind, "count": self.remaining, **self.options}


class FaultQueue:
    """Faults in insertion order; each request consumes at most one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, path_prefix: str, kind: str, count: int = 1, **options: Any) -> Fault:
        """Queue `count` occurrences of a fault; unknown kinds or options are refused up front."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(KINDS)}")
        unknown = set(options) - _OPTIONS[kind]
        if unknown:
            raise ValueError(f"fault {kind!r} takes no option(s) {sorted(unknown)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        if not path_prefix.startswith("/"):
            raise ValueError("path_prefix must start with '/'")
        fault = Fault(path_prefix, kind, count, dict(options))
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, path: str) -> Fault | None:
        """The oldest fault whose prefix matches `path`, consuming one of its occurrences."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if path.startswith(fault.path_prefix):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        del self._faults[index]
                    return Fault(fault.path_prefix, fault.kind, 1, fault.options)
        return None

    def pending(self) -> list[Fault]:
        """Faults not yet consumed."""
        with self._lock:
            return [Fault(f.path_prefix, f.kind, f.remaining, dict(f.options)) for f in self._faults]

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()
