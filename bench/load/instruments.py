"""What the load run measures of the processes, to report rather than judge alone: memory and stalls.

:class:`MemorySamples` reads each process's resident set size over time (the stack's own process,
and per function its largest execution environment); :class:`Stalls` is a watchdog thread that
notes when the stack's process stopped running Python for a while, with its full garbage collections.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from devstack.stack import Stack


def rss_mb(pid: int) -> float | None:
    """A process's resident set size in MB (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class MemorySamples:
    """RSS over time: the stack's own process and, per function, its largest environment."""

    times: list[float] = field(default_factory=list)
    stack: list[float] = field(default_factory=list)
    functions: dict[str, list[float | None]] = field(default_factory=lambda: defaultdict(list))

    def sample(self, at: float, stack: Stack) -> None:
        self.times.append(at)
        self.stack.append(rss_mb(os.getpid()) or 0.0)
        for function, pids in stack.processes().items():
            sizes = [size for size in map(rss_mb, pids) if size is not None]
            self.functions[function].append(max(sizes) if sizes else None)


# --- stalls ----------------------------------------------------------------------------------------
#: A thread of the stack's process that wakes this late stalled, as every thread of it did.
STALL_SECONDS = 0.5


@dataclass
class Stalls:
    """When the stack's own process stopped running Python for a while, and its full collections.

    A watchdog thread sleeps ``tick`` seconds at a time and notes each wake-up at least
    STALL_SECONDS late (the process held the GIL elsewhere, or was not scheduled); the garbage
    collector reports how long each full (generation 2) collection took.
    """

    tick: float = 0.05
    stalls: list[tuple[float, float]] = field(default_factory=list)  # (at, seconds late)
    full_collections: list[tuple[float, float]] = field(default_factory=list)  # (at, seconds)
    _began: float = field(default=0.0, init=False, repr=False)  # the running full collection's start

    def watch(self, stop: threading.Event) -> None:
        """Run the watchdog until ``stop`` (on a thread of its own)."""
        gc.callbacks.append(self._on_gc)
        try:
            before = time.monotonic()
            while not stop.wait(self.tick):
                now = time.monotonic()
                late = now - before - self.tick
                if late >= STALL_SECONDS:
                    self.stalls.append((time.time(), late))
                before = now
        finally:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.full_collections.append((time.time(), time.perf_counter() - self._began))

    def summary(
        self, start: float, end: float, period: float, snapshots: Iterable[tuple[float, float]] = ()
    ) -> dict[str, Any]:
        """Stalls, full collections and snapshots within [start, end); the longest of each as
        (simulated minute of the window, seconds)."""

        def within(events: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
            return [
                (round((at - start) / period, 1), round(took, 2)) for at, took in events if start <= at < end
            ]

        stalls, collections, holds = within(self.stalls), within(self.full_collections), within(snapshots)
        return {
            "stalls_over_half_a_second": len(stalls),
            "stall_seconds_max": max((took for _, took in stalls), default=0.0),
            "stall_seconds_total": round(sum(took for _, took in stalls), 1),
            "full_collections": len(collections),
            "full_collection_seconds_max": max((took for _, took in collections), default=0.0),
            "snapshots": len(holds),
            "snapshot_hold_seconds_max": max((took for _, took in holds), default=0.0),
            "longest_stalls": sorted(stalls, key=lambda e: -e[1])[:10],
            "longest_full_collections": sorted(collections, key=lambda e: -e[1])[:10],
            "longest_snapshots": sorted(holds, key=lambda e: -e[1])[:10],
        }
