"""The event log's cursor: opaque, and only ever a position this API wrote."""

from __future__ import annotations

import base64

import pytest

from bcevents.api.events import decode_cursor, encode_cursor
from bcevents.errors import InvalidRequest

KEY = "2025-03-04T10:20:00Z#6f1d8a52-3c0b-5e55-9a37-0c2b4d1e7a90"


def test_a_cursor_round_trips_to_its_position() -> None:
    cursor = encode_cursor(KEY)

    assert "=" not in cursor
    assert "#" not in cursor
    assert decode_cursor(cursor) == KEY


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "%%%",
        base64.urlsafe_b64encode(b"INSTANCE#123456789012").decode(),
        base64.urlsafe_b64encode(KEY.encode() + b"x").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(KEY.replace("2025", "25").encode()).decode(),
    ],
)
def test_anything_else_is_refused_naming_the_parameter(cursor: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        decode_cursor(cursor, "query")

    assert [p.key for p in refused.value.problems] == ["query.cursor"]


def test_a_body_cursor_is_named_without_a_prefix() -> None:
    with pytest.raises(InvalidRequest) as refused:
        decode_cursor("nope", "")

    assert [p.key for p in refused.value.problems] == ["cursor"]
