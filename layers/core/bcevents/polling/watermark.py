"""Per-resource watermarks: how far a resource has been polled, and what was seen at the edge.

``updated_at`` is the lower bound of the next window, included (the pager sends BigCommerce's
min/max date filters a second wide, whatever they mean: ``polling.window.DateBounds``; they have
one-second resolution). ``seen`` holds the
(object id → updated date) pairs already reported at or after ``updated_at - pollDelay``, so the
overlap that inclusivity and ``pollDelay`` cause never reports a record twice. ``pass_until`` and
``after_id`` let a pass over an endpoint that cannot sort by date resume where it stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

#: The edge set stays small (records of one second, or of pollDelay seconds) once a pass advances;
#: a pinned pass keeps what it reported until it ends. This bounds both, at every save, so no store
#: can grow an item past DynamoDB's 400 KB (5,000 versions are ~250 KB).
MAX_SEEN = 5_000
#: ... and at most this many bytes of ids and dates: ids need not be short (``idField`` may name an
#: email or a SKU), and the item must fit whatever they are.
MAX_SEEN_BYTES = 250_000
#: What one entry of ``seen`` costs in the item besides its id and date (DynamoDB's map overhead).
ENTRY_OVERHEAD = 8


def iso(value: datetime) -> str:
    """A watermark timestamp as stored (UTC, ISO 8601)."""
    return value.isoformat()


@dataclass
class Watermark:
    """The progress of one resource of one instance."""

    updated_at: datetime
    seen: dict[str, str] = field(default_factory=dict)
    pass_until: datetime | None = None
    after_id: int | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Watermark:
        """Read a stored watermark."""
        return cls(
            updated_at=datetime.fromisoformat(item["updated_at"]),
            seen=dict(item.get("seen") or {}),
            pass_until=datetime.fromisoformat(item["pass_until"]) if item.get("pass_until") else None,
            after_id=item.get("after_id"),
        )

    def to_item(self) -> dict[str, Any]:
        """The stored form."""
        item: dict[str, Any] = {"updated_at": iso(self.updated_at), "seen": self.seen}
        if self.pass_until is not None:
            item["pass_until"] = iso(self.pass_until)
        if self.after_id is not None:
            item["after_id"] = self.after_id
        return item

    def was_seen(self, object_id: str, updated: datetime | None) -> bool:
        """Whether this exact version of the record was reported already."""
        return updated is not None and self.seen.get(object_id) == iso(updated)

    def remember(self, object_id: str, updated: datetime | None) -> None:
        """Note a reported version (records without a readable date cannot be deduplicated)."""
        if updated is not None:
            self.seen[object_id] = iso(updated)

    def advance(self, to: datetime, poll_delay: int) -> None:
        """Move the lower bound forward (never back) and forget what falls out of the overlap."""
        self.updated_at = max(self.updated_at, to)
        edge = self.updated_at - timedelta(seconds=poll_delay)
        self.seen = {k: v for k, v in self.seen.items() if datetime.fromisoformat(v) >= edge}
        self.bound()

    def bound(self) -> None:
        """Keep the newest versions, at most MAX_SEEN of them and MAX_SEEN_BYTES, whatever the pass:
        the stored item must fit DynamoDB's 400 KB. What is forgotten can only be reported again (a
        repeated pass), never lost."""
        sizes = {k: len(k.encode()) + len(v) + ENTRY_OVERHEAD for k, v in self.seen.items()}
        if len(self.seen) <= MAX_SEEN and sum(sizes.values()) <= MAX_SEEN_BYTES:
            return
        kept: dict[str, str] = {}
        total = 0
        for key, value in sorted(self.seen.items(), key=lambda kv: kv[1], reverse=True):
            total += sizes[key]
            if total > MAX_SEEN_BYTES or len(kept) == MAX_SEEN:
                break
            kept[key] = value
        self.seen = kept
