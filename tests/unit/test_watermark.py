"""The watermark: the lower bound of the next window and what was reported at its edge."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bcevents.polling import watermark
from bcevents.polling.watermark import Watermark

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def test_a_stored_watermark_reads_back_as_it_was_written() -> None:
    mark = Watermark(T0, {"7": T0.isoformat()}, pass_until=T0 + timedelta(minutes=5), after_id=42)

    assert Watermark.from_item(mark.to_item()) == mark


def test_a_plain_watermark_stores_no_pass_fields() -> None:
    assert Watermark(T0).to_item() == {"updated_at": T0.isoformat(), "seen": {}}


def test_only_the_exact_version_reported_counts_as_seen() -> None:
    mark = Watermark(T0)
    mark.remember("7", T0)

    assert mark.was_seen("7", T0)
    assert not mark.was_seen("7", T0 + timedelta(seconds=1))  # changed again: a new event
    assert not mark.was_seen("8", T0)


def test_a_record_without_a_readable_date_is_never_deduplicated() -> None:
    mark = Watermark(T0)
    mark.remember("7", None)

    assert not mark.was_seen("7", None)
    assert mark.seen == {}


def test_advancing_never_moves_back_and_forgets_what_left_the_overlap() -> None:
    mark = Watermark(T0)
    mark.remember("old", T0 - timedelta(seconds=30))
    mark.remember("edge", T0 + timedelta(seconds=5))

    mark.advance(T0 + timedelta(seconds=10), poll_delay=5)
    mark.advance(T0, poll_delay=5)

    assert mark.updated_at == T0 + timedelta(seconds=10)
    assert set(mark.seen) == {"edge"}  # within pollDelay of the bound


def test_the_edge_set_is_bounded_keeping_the_newest(monkeypatch) -> None:
    monkeypatch.setattr(watermark, "MAX_SEEN", 3)
    mark = Watermark(T0)
    for i in range(5):
        mark.remember(str(i), T0 + timedelta(seconds=i))

    mark.advance(T0, poll_delay=0)

    assert set(mark.seen) == {"2", "3", "4"}


def test_bounding_keeps_the_newest_versions_without_moving_the_bound(monkeypatch) -> None:
    monkeypatch.setattr(watermark, "MAX_SEEN", 2)
    mark = Watermark(T0)
    for i in range(4):
        mark.remember(str(i), T0 + timedelta(seconds=i))

    mark.bound()

    assert set(mark.seen) == {"2", "3"}
    assert mark.updated_at == T0


def test_long_ids_are_bounded_by_bytes_so_the_item_always_fits() -> None:
    """#14 review: the bound was a count only; 5,000 ids of ~100 bytes (an email or a SKU as
    ``idField``) made the watermark item pass DynamoDB's 400 KB and every checkpoint fail."""
    mark = Watermark(T0)
    for i in range(6_000):
        mark.remember(f"customer-{i:06d}@" + "x" * 90 + ".example.com", T0 + timedelta(milliseconds=i))

    mark.bound()

    size = len(json.dumps(mark.to_item()))
    assert size < 300_000
    assert len(mark.seen) > 1_000
    newest = max(mark.seen.values())
    assert newest == watermark.iso(T0 + timedelta(milliseconds=5_999))  # the newest are kept
