from datetime import UTC, datetime

import pytest

from bcevents.compat.urltemplate import (
    Placeholder,
    render_text,
    render_url,
    render_value,
    template_placeholders,
    validate_template,
)

SINCE = datetime(2012, 11, 20, 0, 0, 0, 123_456, tzinfo=UTC)
SEED_ORDERS = "/hubs/ecommerce/orders?where=min_date_modified='${date:EEE, dd MMM yyyy HH:mm:ss Z}'"
SEED_CONTACTS = "/hubs/crm/contacts?where=lastUpdated>'${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}'"


def test_render_url_encodes_the_seed_rfc2822_value_inside_the_ceql_string() -> None:
    rendered = render_url(SEED_ORDERS, since=SINCE)

    assert rendered == (
        "/hubs/ecommerce/orders?where=min_date_modified='Tue%2C%2020%20Nov%202012%2000:00:00%20%2B0000'"
    )


def test_render_url_never_leaves_a_raw_plus() -> None:
    rendered = render_url(
        "/v2/orders?min_date_modified=${date:yyyy-MM-dd'T'HH:mm:ssZ}", since=SINCE, tz="+05:30"
    )

    assert rendered == "/v2/orders?min_date_modified=2012-11-20T05:30:00%2B0530"


def test_render_url_encodes_colons_when_asked() -> None:
    rendered = render_url(SEED_ORDERS, since=SINCE, encode_colon=True)

    assert "00%3A00%3A00%20%2B0000" in rendered


def test_render_url_renders_date_in_the_resource_time_zone() -> None:
    assert render_url(SEED_ORDERS, since=SINCE, tz="EST").endswith(
        "'Mon%2C%2019%20Nov%202012%2019:00:00%20-0500'"
    )


def test_render_url_renders_gmt_date_in_gmt_whatever_the_resource_zone() -> None:
    rendered = render_url(SEED_CONTACTS, since=SINCE, tz="America/New_York")

    assert rendered == "/hubs/crm/contacts?where=lastUpdated>'2012-11-20T00:00:00Z'"


@pytest.mark.parametrize(
    ("placeholder", "expected"),
    [
        ("${date:EEE, dd MMM yyyy HH:mm:ss Z}", "Tue, 20 Nov 2012 00:00:00 +0000"),
        ("${date:EEE MMM dd HH:mm:ss z yyyy}", "Tue Nov 20 00:00:00 UTC 2012"),
        ("${gmtDate:EEE MMM dd HH:mm:ss z yyyy}", "Tue Nov 20 00:00:00 GMT 2012"),
        ("${gmtDate:yyyy-MM-dd'T'HH:mm:ss.SSS'Z'}", "2012-11-20T00:00:00.123Z"),
        ("${dateTimeZone:America/Denver:yyyy-MM-dd'T'HH:mm:ss.SSS'Z'}", "2012-11-19T17:00:00.123Z"),
        ("${dateTimeZone:PST:yyyy-MM-dd HH:mm:ss z}", "2012-11-19 16:00:00 PST"),
        ("${dateTimeZone:-8:00:yyyy-MM-dd'T'HH:mm:ssXXX}", "2012-11-19T16:00:00-08:00"),
        ("${dateTimeZone:GMT+05:30:HH:mm}", "05:30"),
        ("${epoch}", "1353369600123"),
        ("${epoch:ms}", "1353369600123"),
        ("${epoch:s}", "1353369600"),
        ("${epoch:us}", "1353369600123456"),
        ("${gmtdate:yyyy}", "2012"),
    ],
)
def test_render_value_renders_each_kind_raw(placeholder: str, expected: str) -> None:
    assert render_value(placeholder, SINCE) == expected


def test_render_value_floors_epoch_before_1970() -> None:
    assert render_value("${epoch:s}", datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)) == "-1"


def test_render_value_rejects_naive_since() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        render_value("${epoch}", datetime(2020, 1, 1))


def test_render_text_substitutes_without_encoding() -> None:
    assert render_text("a=${date:dd MMM, yyyy}&b=${epoch:s}", since=SINCE) == "a=20 Nov, 2012&b=1353369600"


def test_template_placeholders_lists_kinds_and_positions() -> None:
    template = "/x?a='${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}'&b=${epoch:s}&c=${dateTimeZone:-8:00:HH}"

    found = template_placeholders(template)

    assert found == [
        Placeholder(
            "${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}", 6, 41, "gmtDate", pattern="yyyy-MM-dd'T'HH:mm:ss'Z'"
        ),
        Placeholder("${epoch:s}", 45, 55, "epoch", unit="s"),
        Placeholder("${dateTimeZone:-8:00:HH}", 58, 82, "dateTimeZone", pattern="HH", zone="-8:00"),
    ]
    assert [template[p.start : p.end] for p in found] == [p.text for p in found]


def test_template_placeholders_treats_a_quoted_brace_as_text() -> None:
    found = template_placeholders("/x?a=${date:'{'yyyy'}'}&b=1")

    assert [p.pattern for p in found] == ["'{'yyyy'}'"]
    assert render_text("/x?a=${date:'{'yyyy'}'}&b=1", since=SINCE) == "/x?a={2012}&b=1"


def test_template_without_placeholders_renders_unchanged() -> None:
    assert render_url("/v2/orders?status_id=11", since=SINCE) == "/v2/orders?status_id=11"


@pytest.mark.parametrize("template", [SEED_ORDERS, SEED_CONTACTS, "/v2/orders", "/x?a=${epoch}"])
def test_validate_template_accepts_good_templates(template: str) -> None:
    validate_template(template)


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("/x?a=${foo:yyyy}", "unknown placeholder '\\$\\{foo:yyyy\\}'"),
        ("/x?a=${date}", "needs a date format"),
        ("/x?a=${epoch:min}", "epoch unit"),
        ("/x?a=${date:YYYY-MM-dd}", "'Y' at position 0"),
        ("/x?a=${gmtDate:yyyy-MM-dd'T}", "unterminated placeholder"),
        ("/x?a=${date:yyyy", "unterminated placeholder"),
        ("/x?a=${dateTimeZone:Mars/Base:yyyy}", "unknown time zone 'Mars/Base'"),
        ("/x?a=${dateTimeZone:yyyy}", "dateTimeZone:ZONE:FORMAT"),
    ],
)
def test_validate_template_names_the_bad_placeholder(template: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        validate_template(template)


@pytest.mark.parametrize("text", ["date:yyyy", "${date:yyyy", "plain"])
def test_render_value_rejects_text_that_is_not_one_placeholder(text: str) -> None:
    with pytest.raises(ValueError, match="placeholder"):
        render_value(text, SINCE)
