from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bcevents.compat.dates import parse_date_lenient
from bcevents.compat.javadate import compile_pattern
from bcevents.compat.javazone import resolve_zone

RFC2822 = "EEE, dd MMM yyyy HH:mm:ss Z"
CE_CREATED = "EEE MMM dd HH:mm:ss z yyyy"
MOMENT = datetime(2012, 11, 20, 17, 5, 9, 7_654, tzinfo=UTC)

# The patterns Cloud Elements users write, and the finest unit each keeps.
ROUND_TRIP_PATTERNS = {
    RFC2822: "second",
    "yyyy-MM-dd'T'HH:mm:ss'Z'": "second",
    "yyyy-MM-dd'T'HH:mm:ssXXX": "second",
    "yyyy-MM-dd'T'HH:mm:ss.SSSXXX": "millisecond",
    "yyyy-MM-dd'T'HH:mm:ss.SSSZ": "millisecond",
    "yyyy-MM-dd HH:mm:ss": "second",
    "yyyy-MM-dd": "day",
    "MM/dd/yyyy hh:mm a": "minute",
    CE_CREATED: "second",
}
ZONES = ["UTC", "GMT", "EST", "America/New_York", "+05:30"]


def _truncate(local: datetime, unit: str) -> datetime:
    if unit == "millisecond":
        return local.replace(microsecond=local.microsecond // 1000 * 1000)
    if unit == "second":
        return local.replace(microsecond=0)
    if unit == "minute":
        return local.replace(second=0, microsecond=0)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _is_ambiguous(local: datetime) -> bool:
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


@pytest.mark.parametrize(("pattern", "unit"), ROUND_TRIP_PATTERNS.items())
@pytest.mark.parametrize("zone", ZONES)
@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
    )
)
def test_format_then_parse_returns_the_same_instant(
    pattern: str, unit: str, zone: str, moment: datetime
) -> None:
    compiled = compile_pattern(pattern)
    local = moment.astimezone(resolve_zone(zone))
    # Without a zone in the text, the repeated hour of a DST fall-back cannot be told apart.
    assume(compiled.has_zone or not _is_ambiguous(local))

    parsed = compiled.parse(compiled.format(moment, zone), zone)

    assert parsed.astimezone(UTC) == _truncate(local, unit).astimezone(UTC)


@pytest.mark.parametrize(
    ("pattern", "zone", "expected"),
    [
        (RFC2822, "UTC", "Tue, 20 Nov 2012 17:05:09 +0000"),
        (RFC2822, "EST", "Tue, 20 Nov 2012 12:05:09 -0500"),
        ("yyyy-MM-dd'T'HH:mm:ss'Z'", "UTC", "2012-11-20T17:05:09Z"),
        ("yyyy-MM-dd'T'HH:mm:ssXXX", "UTC", "2012-11-20T17:05:09Z"),
        ("yyyy-MM-dd'T'HH:mm:ssXXX", "+05:30", "2012-11-20T22:35:09+05:30"),
        ("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "America/New_York", "2012-11-20T12:05:09.007-05:00"),
        ("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "GMT", "2012-11-20T17:05:09.007+0000"),
        ("yyyy-MM-dd HH:mm:ss", "UTC", "2012-11-20 17:05:09"),
        ("yyyy-MM-dd", "UTC", "2012-11-20"),
        ("MM/dd/yyyy hh:mm a", "UTC", "11/20/2012 05:05 PM"),
        (CE_CREATED, "UTC", "Tue Nov 20 17:05:09 UTC 2012"),
        (CE_CREATED, "GMT", "Tue Nov 20 17:05:09 GMT 2012"),
        (CE_CREATED, "America/New_York", "Tue Nov 20 12:05:09 EST 2012"),
        (CE_CREATED, "+05:30", "Tue Nov 20 22:35:09 GMT+05:30 2012"),
        (CE_CREATED, "Asia/Singapore", "Wed Nov 21 01:05:09 GMT+08:00 2012"),
        ("G yy y yyyyy", "UTC", "AD 12 2012 02012"),
        ("M MM MMM MMMM LLL d D DDD F u E EEEE", "UTC", "11 11 Nov November Nov 20 325 325 3 2 Tue Tuesday"),
        ("H k K h a m s S SSS SSSS", "UTC", "17 17 5 5 PM 5 9 7 007 0007"),
        ("X XX XXX Z", "America/New_York", "-05 -0500 -05:00 -0500"),
        ("X XX XXX", "UTC", "Z Z Z"),
        ("hh 'o''clock' 'at' '' mm", "UTC", "05 o'clock at ' 05"),
    ],
)
def test_format_writes_java_text(pattern: str, zone: str, expected: str) -> None:
    assert compile_pattern(pattern).format(MOMENT, zone) == expected


def test_format_counts_hours_the_java_way_at_midnight_and_noon() -> None:
    midnight = datetime(2020, 1, 1, 0, 0, tzinfo=UTC)
    noon = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
    pattern = compile_pattern("H k K h a")

    assert pattern.format(midnight) == "0 24 0 12 AM"
    assert pattern.format(noon) == "12 12 0 12 PM"


def test_format_names_summer_time_by_its_zone() -> None:
    summer = datetime(2018, 8, 20, 15, 30, 7, tzinfo=UTC)

    assert compile_pattern(CE_CREATED).format(summer, "America/New_York") == "Mon Aug 20 11:30:07 EDT 2018"


def test_format_rejects_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        compile_pattern("yyyy").format(datetime(2020, 1, 1))


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (RFC2822, "Tue, 20 Nov 2012 00:00:00 +0000", datetime(2012, 11, 20, tzinfo=UTC)),
        (RFC2822, "Thu, 20 Apr 2017 11:32:00 -0400", datetime(2017, 4, 20, 15, 32, tzinfo=UTC)),
        (CE_CREATED, "Mon Aug 20 15:30:07 UTC 2018", datetime(2018, 8, 20, 15, 30, 7, tzinfo=UTC)),
        (CE_CREATED, "Mon Aug 20 11:30:07 EDT 2018", datetime(2018, 8, 20, 15, 30, 7, tzinfo=UTC)),
        (CE_CREATED, "Mon Aug 20 21:00:07 GMT+05:30 2018", datetime(2018, 8, 20, 15, 30, 7, tzinfo=UTC)),
        (CE_CREATED, "mon aug 20 15:30:07 utc 2018", datetime(2018, 8, 20, 15, 30, 7, tzinfo=UTC)),
        (
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            "2017-04-20T11:32:00.000-04:00",
            datetime(2017, 4, 20, 15, 32, tzinfo=UTC),
        ),
        ("yyyy-MM-dd'T'HH:mm:ssXXX", "2018-08-24T14:41:00+00:00", datetime(2018, 8, 24, 14, 41, tzinfo=UTC)),
        ("yyyy-MM-dd'T'HH:mm:ssZ", "2018-08-24T14:41:00-04:00", datetime(2018, 8, 24, 18, 41, tzinfo=UTC)),
        ("dd MMMM yyyy", "05 August 2018", datetime(2018, 8, 5, tzinfo=UTC)),
        ("dd MMM yyyy", "05 August 2018", datetime(2018, 8, 5, tzinfo=UTC)),
        ("yyyyMMddHHmmss", "20180820153007", datetime(2018, 8, 20, 15, 30, 7, tzinfo=UTC)),
        ("yyyy D", "2020 366", datetime(2020, 12, 31, tzinfo=UTC)),
        ("HH:mm", "15:30", datetime(1970, 1, 1, 15, 30, tzinfo=UTC)),
        ("hh:mm a", "12:30 AM", datetime(1970, 1, 1, 0, 30, tzinfo=UTC)),
        ("hh:mm a", "12:30 PM", datetime(1970, 1, 1, 12, 30, tzinfo=UTC)),
        ("K:mm a", "11:30 PM", datetime(1970, 1, 1, 23, 30, tzinfo=UTC)),
        ("k:mm", "24:30", datetime(1970, 1, 1, 0, 30, tzinfo=UTC)),
        ("M/d/yyyy", "1/11/12", datetime(12, 1, 11, tzinfo=UTC)),
        ("EEE, dd MMM yyyy", "Fri, 20 Nov 2012", datetime(2012, 11, 20, tzinfo=UTC)),
    ],
)
def test_parse_reads_java_text(pattern: str, text: str, expected: datetime) -> None:
    assert compile_pattern(pattern).parse(text) == expected


def test_parse_reads_s_as_a_millisecond_count_not_a_fraction() -> None:
    parsed = compile_pattern("ss.S").parse("05.7")

    assert (parsed.second, parsed.microsecond) == (5, 7_000)


def test_parse_reads_a_quoted_z_as_a_literal_and_uses_the_given_zone() -> None:
    parsed = compile_pattern("yyyy-MM-dd'T'HH:mm:ss'Z'").parse("2018-08-20T15:30:07Z", "EST")

    assert parsed == datetime(2018, 8, 20, 20, 30, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "year"), [("18", 2018), ("50", 1950), ("43", 2043), ("44", 1944), ("2018", 2018)]
)
def test_parse_places_two_digit_years_in_javas_window(text: str, year: int) -> None:
    assert compile_pattern("yy").parse(text, today=date(2024, 6, 1)).year == year


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (RFC2822, "2018-08-20T15:30:07Z"),
        (RFC2822, "Tue, 20 Nov 2012 00:00:00"),
        ("yyyy-MM-dd", "2018-08-20T15:30:07Z"),
        ("yyyy-MM-dd", "2018-13-01"),
        ("yyyy-MM-dd", "2018-02-30"),
        ("HH:mm", "25:00"),
        ("hh:mm a", "13:00 PM"),
        ("k:mm", "0:30"),
        ("ss.SSS", "05.1234"),
        ("yyyy D", "2019 366"),
        ("yyyy-MM-dd'T'HH:mm:ssXXX", "2018-08-20T15:30:07+0000"),
        (CE_CREATED, "Mon Aug 20 15:30:07 XYZ 2018"),
        ("G yyyy", "BC 2018"),
        ("yyyy", "٢٠١٨"),
        ("yyyy", ""),
    ],
)
def test_parse_rejects_text_that_does_not_match(pattern: str, text: str) -> None:
    with pytest.raises(ValueError, match=r"pattern|supported"):
        compile_pattern(pattern).parse(text)


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("YYYY-MM-dd", "'Y' at position 0"),
        ("yyyy-ww", "'w' at position 5"),
        ("HH:mm:ss.n", "'n' at position 9"),
        ("yyyy-MM-dd'T", "unterminated quote at position 10"),
        ("yyyy-MM-ddXXXX", "'XXXX' at position 10"),
        ("HH zzzz", "'zzzz' at position 3"),
    ],
)
def test_compile_rejects_unsupported_patterns_naming_the_position(pattern: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        compile_pattern(pattern)


def test_compile_caches_patterns() -> None:
    assert compile_pattern(RFC2822) is compile_pattern(RFC2822)


JULY = datetime(2020, 7, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "offset_hours"),
    [
        ("UTC", 0),
        ("GMT", 0),
        ("Z", 0),
        ("EST", -5),
        ("MST", -7),
        ("PST", -7),
        ("PDT", -7),
        ("CST", -5),
        ("America/New_York", -4),
        ("GMT+05:30", 5.5),
        ("GMT-8", -8),
        ("UTC+3", 3),
        ("-8:00", -8),
        ("+05:30", 5.5),
        ("+0530", 5.5),
    ],
)
def test_resolve_zone_reads_java_ids(name: str, offset_hours: float) -> None:
    assert JULY.astimezone(resolve_zone(name)).utcoffset() == timedelta(hours=offset_hours)


@pytest.mark.parametrize("name", ["Mars/Olympus", "GMT+25", "+05:75", "", "../etc/passwd", "America"])
def test_resolve_zone_rejects_unknown_ids(name: str) -> None:
    with pytest.raises(ValueError, match="time zone"):
        resolve_zone(name)


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("Tue, 20 Nov 2012 00:00:00 +0000", RFC2822, datetime(2012, 11, 20, tzinfo=UTC)),
        ("Tue, 20 Nov 2012 00:00:00 +0000", "yyyy-MM-dd", datetime(2012, 11, 20, tzinfo=UTC)),
        ("Mon Aug 20 15:30:07 UTC 2018", None, datetime(2018, 8, 20, 15, 30, 7, tzinfo=UTC)),
        ("2018-08-24T14:41:00+00:00", RFC2822, datetime(2018, 8, 24, 14, 41, tzinfo=UTC)),
        ("2018-11-14T16:46:23Z", None, datetime(2018, 11, 14, 16, 46, 23, tzinfo=UTC)),
        ("2018-11-14T11:46:23", None, datetime(2018, 11, 14, 16, 46, 23, tzinfo=UTC)),
        ("1534778974", None, datetime(2018, 8, 20, 15, 29, 34, tzinfo=UTC)),
        ("1534778974827", None, datetime(2018, 8, 20, 15, 29, 34, 827_000, tzinfo=UTC)),
        (1534778974827, None, datetime(2018, 8, 20, 15, 29, 34, 827_000, tzinfo=UTC)),
        (1534778974.5, None, datetime(2018, 8, 20, 15, 29, 34, 500_000, tzinfo=UTC)),
    ],
)
def test_parse_date_lenient_falls_back_to_common_formats(
    text: str | float, pattern: str | None, expected: datetime
) -> None:
    assert parse_date_lenient(text, pattern, "EST") == expected


@pytest.mark.parametrize("text", ["", "   ", "not a date", "2018-99-99", True, 10**30, float("nan")])
def test_parse_date_lenient_returns_none_when_nothing_reads(text: str | float) -> None:
    assert parse_date_lenient(text, RFC2822) is None


def test_parse_date_lenient_still_rejects_a_bad_pattern() -> None:
    with pytest.raises(ValueError, match="'Y'"):
        parse_date_lenient("2018", "YYYY")


def test_parse_date_lenient_reads_the_pattern_in_the_given_zone() -> None:
    parsed = parse_date_lenient("2018-08-20 10:00:00", "yyyy-MM-dd HH:mm:ss", "America/New_York")

    assert parsed == datetime(2018, 8, 20, 14, tzinfo=UTC)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=-4)


def test_parse_resolves_a_repeated_local_hour_to_the_earlier_instant() -> None:
    parsed = compile_pattern("yyyy-MM-dd HH:mm:ss").parse("2018-11-04 01:30:00", "America/New_York")

    assert parsed.astimezone(UTC) == datetime(2018, 11, 4, 5, 30, tzinfo=UTC)
