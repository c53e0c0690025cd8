"""Cloud Elements' event classification and dotted-path reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bcevents.compat.classify import dotted, event_type, object_id, updated_date
from bcevents.compat.configuration import ResourceConfig
from bcevents.polling.watermark import MAX_SEEN, Watermark

RFC = "EEE, dd MMM yyyy HH:mm:ss Z"


def _resource(**fields: Any) -> ResourceConfig:
    base: dict[str, Any] = {
        "url": "/hubs/ecommerce/orders?where=min_date_modified='${date:EEE, dd MMM yyyy HH:mm:ss Z}'",
        "datesConfiguration": {"updatedDateFormat": RFC, "createdDateFormat": RFC},
    }
    base.update(fields)
    return ResourceConfig.model_validate(base)


def _order(created: str, modified: str, **extra: Any) -> dict[str, Any]:
    return {"id": 7, "date_created": created, "date_modified": modified, **extra}


def test_same_created_and_updated_is_created() -> None:
    order = _order("Tue, 20 Nov 2012 00:00:00 +0000", "Tue, 20 Nov 2012 00:00:00 +0000")
    assert event_type(order, _resource()) == "CREATED"


def test_later_update_is_updated() -> None:
    order = _order("Tue, 20 Nov 2012 00:00:00 +0000", "Tue, 20 Nov 2012 00:00:05 +0000")
    assert event_type(order, _resource()) == "UPDATED"


def test_the_created_check_tolerance_widens_created() -> None:
    order = _order("Tue, 20 Nov 2012 00:00:00 +0000", "Tue, 20 Nov 2012 00:00:05 +0000")
    assert event_type(order, _resource(createdCheckTolerance=5)) == "CREATED"


def test_archived_orders_are_deleted() -> None:
    order = _order("Tue, 20 Nov 2012 00:00:00 +0000", "Tue, 20 Nov 2012 00:00:05 +0000", is_deleted=True)
    assert event_type(order, _resource()) == "DELETED"


def test_an_unreadable_date_is_reported_as_unknown_not_dropped() -> None:
    assert event_type(_order("yesterday", "soon"), _resource()) == "UNKNOWN"


def test_without_filter_by_updated_date_every_record_is_created() -> None:
    order = _order("Tue, 20 Nov 2012 00:00:00 +0000", "Tue, 20 Nov 2012 00:00:05 +0000")
    assert event_type(order, _resource(filterByUpdatedDate=False)) == "CREATED"


def test_dates_fall_back_to_iso_when_the_pattern_does_not_match() -> None:
    order = _order("2012-11-20T00:00:00+00:00", "2012-11-20T00:00:00Z")
    assert updated_date(order, _resource()) == datetime(2012, 11, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "expected"), [("a.b.c", 1), ("a.b", {"c": 1}), ("a.x.c", None), ("a.b.c.d", None), ("z", None)]
)
def test_dotted_paths(path: str, expected: Any) -> None:
    assert dotted({"a": {"b": {"c": 1}}}, path) == expected


def test_object_ids_are_strings_and_missing_ids_are_none() -> None:
    resource = _resource(idField="_info.id")
    assert object_id({"_info": {"id": 42}}, resource) == "42"
    assert object_id({"_info": {}}, resource) is None


def test_watermark_forgets_what_falls_out_of_the_overlap() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    wm = Watermark(updated_at=t0)
    wm.remember("1", t0)
    wm.remember("2", t0 + timedelta(seconds=10))

    wm.advance(t0 + timedelta(seconds=10), poll_delay=5)

    assert wm.seen == {"2": (t0 + timedelta(seconds=10)).isoformat()}
    assert wm.was_seen("2", t0 + timedelta(seconds=10))
    assert not wm.was_seen("2", t0 + timedelta(seconds=11))


def test_watermark_round_trips_and_bounds_its_edge_set() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    wm = Watermark(updated_at=t0, pass_until=t0 + timedelta(hours=1), after_id=99)
    for i in range(MAX_SEEN + 10):
        wm.remember(str(i), t0)
    wm.advance(t0, poll_delay=0)

    again = Watermark.from_item(wm.to_item())

    assert len(again.seen) == MAX_SEEN
    assert (again.pass_until, again.after_id) == (t0 + timedelta(hours=1), 99)
