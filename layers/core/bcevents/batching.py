"""Cutting a sequence into runs bounded by count and by size: notifications (events per body) and
SQS batches (entries per request) are both cut this way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def runs(items: Sequence[T], *, size: Callable[[T], int], max_count: int, max_size: int) -> list[Sequence[T]]:
    """Consecutive runs of at most ``max_count`` items whose sizes add up to at most ``max_size``;
    an item larger than ``max_size`` alone is a run of its own."""
    found: list[Sequence[T]] = []
    start, total = 0, 0
    for i, item in enumerate(items):
        length = size(item)
        if i > start and (i - start == max_count or total + length > max_size):
            found.append(items[start:i])
            start, total = i, 0
        total += length
    if start < len(items):
        found.append(items[start:])
    return found
