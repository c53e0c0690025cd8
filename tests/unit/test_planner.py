from datetime import UTC, datetime

import pytest

from bcevents.bigcommerce.endpoints import DateEncoding, StoreBase, store_base_urls
from bcevents.bigcommerce.planner import (
    UnsupportedQuery,
    UnsupportedResource,
    build_url,
    plan_request,
    render_params,
    render_raw,
)
from bcevents.compat.configuration import AccountKind

SINCE = datetime(2012, 11, 20, 0, 0, 0, 750_000, tzinfo=UTC)
UNTIL = datetime(2012, 11, 21, 8, 30, 15, tzinfo=UTC)
PLACEHOLDER = "${date:EEE, dd MMM yyyy HH:mm:ss Z}"
LEGACY_STORE = "https://store-wuxeae6.mybigcommerce.com/api/v2"
API_STORE = "https://api.bigcommerce.com/stores/abc123/v3/"
SEED_CONTACTS = "/hubs/crm/contacts?where=lastUpdated>'${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}'"
V2_WINDOW = (
    "min_date_modified=Tue%2C%2020%20Nov%202012%2000%3A00%3A00%20%2B0000"
    "&max_date_modified=Wed%2C%2021%20Nov%202012%2008%3A30%3A15%20%2B0000"
)
V3_WINDOW = "date_modified:min=2012-11-20T00:00:00Z&date_modified:max=2012-11-21T08:30:15Z"


def seed_url(resource: str) -> str:
    return f"/hubs/ecommerce/{resource}?where=min_date_modified='{PLACEHOLDER}'"


def first_page(store: str, url: str, kind: AccountKind) -> str:
    plan = plan_request(url, kind)
    return build_url(
        store_base_urls(store), plan, render_params(plan, since=SINCE, until=UNTIL, page=1, limit=250)
    )


@pytest.mark.parametrize(
    ("store", "kind", "resource", "expected"),
    [
        (LEGACY_STORE, AccountKind.LEGACY, "orders",
         f"{LEGACY_STORE}/orders?{V2_WINDOW}&sort=date_modified%3Aasc&limit=250&page=1"),
        (LEGACY_STORE, AccountKind.LEGACY, "products", f"{LEGACY_STORE}/products?{V2_WINDOW}&limit=250&page=1"),
        (LEGACY_STORE, AccountKind.LEGACY, "customers", f"{LEGACY_STORE}/customers?{V2_WINDOW}&limit=250&page=1"),
        (API_STORE, AccountKind.API, "orders",
         f"https://api.bigcommerce.com/stores/abc123/v2/orders?{V2_WINDOW}&sort=date_modified%3Aasc&limit=250&page=1"),
        (API_STORE, AccountKind.API, "products",
         f"https://api.bigcommerce.com/stores/abc123/v3/catalog/products?{V3_WINDOW}"
         "&sort=date_modified&direction=asc&limit=250&page=1"),
        (API_STORE, AccountKind.API, "customers",
         f"https://api.bigcommerce.com/stores/abc123/v3/customers?{V3_WINDOW}&sort=date_modified:asc&limit=250&page=1"),
    ],
)  # fmt: skip
def test_seed_resources_become_each_account_kinds_endpoint(
    store: str, kind: AccountKind, resource: str, expected: str
) -> None:
    assert first_page(store, seed_url(resource), kind) == expected


@pytest.mark.parametrize("kind", [AccountKind.LEGACY, AccountKind.API])
def test_seed_crm_contacts_resource_is_rejected_by_name(kind: AccountKind) -> None:
    with pytest.raises(UnsupportedResource, match=r"'contacts'.*ecommerce hub: orders, products, customers"):
        plan_request(SEED_CONTACTS, kind)


def test_an_oauth_account_is_planned_only_once_its_token_is_exchanged() -> None:
    """Exchanged at creation, an OAuth instance is stored as an API account; the planner says so."""
    with pytest.raises(UnsupportedResource, match="API account"):
        plan_request("/hubs/ecommerce/orders", AccountKind.OAUTH)


def test_seed_plan_keeps_the_users_pattern_but_renders_the_poll_window() -> None:
    plan = plan_request(seed_url("orders"), AccountKind.LEGACY)

    assert (plan.version, plan.path, plan.since_key, plan.until_key) == (
        2, "/orders", "min_date_modified", "max_date_modified",
    )  # fmt: skip
    assert plan.since_pattern == PLACEHOLDER
    assert (plan.date_encoding, plan.sorted_by_date, plan.date_field) == (
        DateEncoding.RFC2822,
        True,
        "date_modified",
    )


@pytest.mark.parametrize("resource", ["products", "customers"])
def test_v2_products_and_customers_plans_say_they_are_not_date_sorted(resource: str) -> None:
    plan = plan_request(seed_url(resource), AccountKind.LEGACY)

    assert (plan.sort, plan.sorted_by_date) == ((), False)


@pytest.mark.parametrize(
    "where",
    [
        f"date_modified>='{PLACEHOLDER}'",
        f"date_modified>'{PLACEHOLDER}'",
        f"min_date_modified='{PLACEHOLDER}'",
        f"lastUpdated>'{PLACEHOLDER}'",
        f"  date_modified >= '{PLACEHOLDER}'  ",
        "lastUpdated>${epoch:s}",
    ],
)
@pytest.mark.parametrize(
    ("kind", "resource", "since_key"),
    [
        (AccountKind.LEGACY, "orders", "min_date_modified"),
        (AccountKind.LEGACY, "customers", "min_date_modified"),
        (AccountKind.API, "products", "date_modified:min"),
        (AccountKind.API, "customers", "date_modified:min"),
    ],
)
def test_modified_since_forms_map_to_the_endpoints_lower_bound(
    where: str, kind: AccountKind, resource: str, since_key: str
) -> None:
    plan = plan_request(f"/hubs/ecommerce/{resource}?where={where}", kind)

    assert plan.since_key == since_key
    assert plan.since_pattern is not None
    assert plan.filters == {}


@pytest.mark.parametrize(
    ("kind", "resource", "where", "filters"),
    [
        (AccountKind.LEGACY, "orders", "status_id=11", {"status_id": "11"}),
        (AccountKind.LEGACY, "orders", "email='a+b@example.com'", {"email": "a+b@example.com"}),
        (AccountKind.LEGACY, "orders", "id=5", {"min_id": "5", "max_id": "5"}),
        (AccountKind.LEGACY, "orders", "id>5 and id<9", {"min_id": "6", "max_id": "8"}),
        (AccountKind.LEGACY, "products", "is_visible=TRUE", {"is_visible": "true"}),
        (AccountKind.LEGACY, "customers", "last_name='O''Brien'", {"last_name": "O'Brien"}),
        (AccountKind.API, "products", "is_visible=true", {"is_visible": "true"}),
        (AccountKind.API, "products", "id>5", {"id:greater": "5"}),
        (AccountKind.API, "customers", "id=5", {"id:in": "5"}),
        (AccountKind.API, "customers", "email='x@example.com'", {"email:in": "x@example.com"}),
    ],
)
def test_equality_filters_pass_through_with_the_endpoints_own_keys(
    kind: AccountKind, resource: str, where: str, filters: dict[str, str]
) -> None:
    plan = plan_request(
        f"/hubs/ecommerce/{resource}?where=min_date_modified='{PLACEHOLDER}' AND {where}", kind
    )

    assert plan.filters == filters


def test_and_combination_renders_filters_then_window_then_sort() -> None:
    url = f"/hubs/ecommerce/orders?where=date_modified>='{PLACEHOLDER}' and status_id=11 and customer_id=7"
    plan = plan_request(url, AccountKind.API)

    params = render_params(plan, since=SINCE, until=None, page=3, limit=50)

    assert params == [
        ("status_id", "11"),
        ("customer_id", "7"),
        ("min_date_modified", "Tue, 20 Nov 2012 00:00:00 +0000"),
        ("sort", "date_modified:asc"),
        ("limit", "50"),
        ("page", "3"),
    ]


def test_created_only_clause_polls_by_creation_date() -> None:
    plan = plan_request(f"/hubs/ecommerce/orders?where=date_created>='{PLACEHOLDER}'", AccountKind.LEGACY)

    assert (plan.since_key, plan.until_key, plan.date_field) == (
        "min_date_created",
        "max_date_created",
        "date_created",
    )
    assert plan.sort == (("sort", "date_created:asc"),)


def test_literal_bounds_narrow_the_poll_window() -> None:
    url = (
        f"/hubs/ecommerce/customers?where=date_modified>='{PLACEHOLDER}' and date_modified>='2012-11-20T06:00:00Z'"
        " and date_modified<='2012-11-21T00:00:00Z' and date_created>='2012-01-01'"
    )
    plan = plan_request(url, AccountKind.API)

    params = dict(render_params(plan, since=SINCE, until=UNTIL, page=1, limit=250))

    assert params["date_modified:min"] == "2012-11-20T06:00:00Z"
    assert params["date_modified:max"] == "2012-11-21T00:00:00Z"
    assert params["date_created:min"] == "2012-01-01T00:00:00Z"


def test_upper_bound_placeholder_yields_to_the_pollers_until() -> None:
    plan = plan_request(f"/hubs/ecommerce/products?where=date_modified<='{PLACEHOLDER}'", AccountKind.API)

    params = dict(render_params(plan, since=SINCE, until=UNTIL, page=1, limit=250))

    assert params["date_modified:max"] == "2012-11-21T08:30:15Z"


def test_second_lower_bound_placeholder_is_rendered_at_since() -> None:
    url = f"/hubs/ecommerce/orders?where=date_modified>='{PLACEHOLDER}' and min_date_created='{PLACEHOLDER}'"
    plan = plan_request(url, AccountKind.LEGACY)

    params = dict(render_params(plan, since=SINCE, until=None, page=1, limit=250))

    assert params["min_date_created"] == params["min_date_modified"] == "Tue, 20 Nov 2012 00:00:00 +0000"


def test_hub_url_without_where_still_polls_by_modification_date() -> None:
    plan = plan_request("/hubs/ecommerce/orders", AccountKind.LEGACY)

    assert plan.since_key == "min_date_modified"
    assert plan.since_pattern is None


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("/hubs/ecommerce/orders?where=status_id=1 or status_id=2", "'or'"),
        ("/hubs/ecommerce/orders?where=email like '%x%'", "'like'"),
        ("/hubs/ecommerce/orders?where=status_id in (1, 2)", "'in'"),
        ("/hubs/ecommerce/orders?where=(status_id=1)", "parentheses"),
        ("/hubs/ecommerce/orders?where=status_id!=1", "'!='"),
        ("/hubs/ecommerce/orders?where=shoe_size=11", "'shoe_size=11'.*status_id"),
        ("/hubs/ecommerce/orders?where=status_id>11", "'status_id>11'"),
        ("/hubs/ecommerce/orders?where=status_id=11 and", "end of clause"),
        ("/hubs/ecommerce/orders?where=status_id=", "is not a value"),
        ("/hubs/ecommerce/orders?where=date_modified='2012-01-01'", "exact date"),
        ("/hubs/ecommerce/orders?where=min_date_modified>='2012-01-01'", "min_date_modified='...'"),
        ("/hubs/ecommerce/orders?where=date_modified>='yesterday'", "cannot read the date 'yesterday'"),
        ("/hubs/ecommerce/orders?where=status_id='${epoch}'", "only date fields"),
        ("/hubs/ecommerce/orders?where=id>='five'", "whole number"),
        ("/hubs/ecommerce/orders?where=status_id=1 and status_id=2", "already set"),
        ("/hubs/ecommerce/orders?orderBy=id", "'orderBy'"),
        ("/hubs/ecommerce/products?where=date_created>='2012-01-01'", "no date_created filter"),
        ("/hubs/ecommerce/customers?where=id>5", "'id>5'"),
        (f"/hubs/ecommerce/orders?where=max_date_created='{PLACEHOLDER}' and date_modified>'{PLACEHOLDER}'",
         "upper bound cannot be the poll date"),
    ],
)  # fmt: skip
def test_unsupported_ceql_is_rejected_naming_the_term(url: str, fragment: str) -> None:
    with pytest.raises(UnsupportedQuery, match=fragment) as caught:
        plan_request(url, AccountKind.API)

    assert "resource '" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "kind", "fragment"),
    [
        ("/hubs/ecommerce/carts", AccountKind.API, "'carts'"),
        ("/hubs/ecommerce/orders/5/products", AccountKind.API, "'orders'"),
        ("/hubs/marketing/orders", AccountKind.API, "'orders'"),
        ("/orders", AccountKind.API, "'/orders'"),
        ("/v3/catalog/products", AccountKind.LEGACY, "only /v2"),
        ("/v2/orders/${epoch}", AccountKind.LEGACY, "only in query values"),
    ],
)
def test_unsupported_resources_are_rejected(url: str, kind: AccountKind, fragment: str) -> None:
    with pytest.raises(UnsupportedResource, match=fragment):
        plan_request(url, kind)


def test_raw_v2_path_is_kept_and_rendered_at_since() -> None:
    url = f"/v2/orders?min_date_modified={PLACEHOLDER}&status_id=11&is_deleted=false"
    plan = plan_request(url, AccountKind.LEGACY)

    path, params = render_raw(plan, SINCE, "EST")

    assert (plan.raw, plan.version, plan.since_key, plan.since_pattern) == (
        True,
        2,
        "min_date_modified",
        PLACEHOLDER,
    )
    assert path == "/orders"
    assert params == [
        ("min_date_modified", "Mon, 19 Nov 2012 19:00:00 -0500"),
        ("status_id", "11"),
        ("is_deleted", "false"),
    ]
    assert build_url(store_base_urls(LEGACY_STORE), plan, params) == (
        f"{LEGACY_STORE}/orders?min_date_modified=Mon%2C%2019%20Nov%202012%2019%3A00%3A00%20-0500"
        "&status_id=11&is_deleted=false"
    )


def test_raw_v3_path_keeps_colons_and_encodes_plus() -> None:
    url = "/v3/catalog/products?date_modified:min=${gmtDate:yyyy-MM-dd'T'HH:mm:ssXXX}&include=variants,images"
    plan = plan_request(url, AccountKind.API)

    path, params = render_raw(plan, SINCE.astimezone(UTC))
    built = build_url(store_base_urls(API_STORE), plan, [*params, ("offset", "+01:00")])

    assert path == "/catalog/products"
    assert built == (
        "https://api.bigcommerce.com/stores/abc123/v3/catalog/products?date_modified:min=2012-11-20T00:00:00Z"
        "&include=variants%2Cimages&offset=%2B01:00"
    )


def test_rendered_v2_dates_never_carry_a_raw_plus() -> None:
    url = first_page(LEGACY_STORE, seed_url("orders"), AccountKind.LEGACY)

    assert "+" not in url
    assert "%2B0000" in url


def test_build_url_refuses_v3_on_a_legacy_store() -> None:
    plan = plan_request(seed_url("products"), AccountKind.API)

    with pytest.raises(UnsupportedResource, match="legacy"):
        build_url(store_base_urls(LEGACY_STORE), plan, [])


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"since": datetime(2020, 1, 1), "until": None, "page": 1, "limit": 10}, "timezone-aware"),
        ({"since": SINCE, "until": datetime(2020, 1, 1), "page": 1, "limit": 10}, "timezone-aware"),
        ({"since": SINCE, "until": None, "page": 1, "limit": 251}, "limit must be 1..250"),
        ({"since": SINCE, "until": None, "page": 0, "limit": 10}, "page >= 1"),
    ],
)
def test_render_params_rejects_bad_arguments(kwargs: dict[str, object], fragment: str) -> None:
    plan = plan_request(seed_url("orders"), AccountKind.LEGACY)

    with pytest.raises(ValueError, match=fragment):
        render_params(plan, **kwargs)  # type: ignore[arg-type]


def test_raw_and_hub_plans_render_only_through_their_own_function() -> None:
    raw = plan_request("/v2/orders", AccountKind.LEGACY)
    hub = plan_request(seed_url("orders"), AccountKind.LEGACY)

    with pytest.raises(ValueError, match="render_raw"):
        render_params(raw, since=SINCE, until=None, page=1, limit=1)
    with pytest.raises(ValueError, match="render_params"):
        render_raw(hub, SINCE)


@pytest.mark.parametrize(
    ("store_url", "expected"),
    [
        (LEGACY_STORE, StoreBase(AccountKind.LEGACY, LEGACY_STORE, None)),
        (f"{LEGACY_STORE}/", StoreBase(AccountKind.LEGACY, LEGACY_STORE, None)),
        ("https://shop.example.com/api/v2//", StoreBase(AccountKind.LEGACY, "https://shop.example.com/api/v2", None)),
        ("http://127.0.0.1:8010/api/v2", StoreBase(AccountKind.LEGACY, "http://127.0.0.1:8010/api/v2", None)),
        *[
            (url, StoreBase(AccountKind.API, "https://api.bigcommerce.com/stores/abc123/v2",
                            "https://api.bigcommerce.com/stores/abc123/v3"))
            for url in (API_STORE, "https://api.bigcommerce.com/stores/abc123/v2/",
                        "https://api.bigcommerce.com/stores/abc123", " https://api.bigcommerce.com/stores/abc123/ ")
        ],
        ("http://127.0.0.1:8010/stores/abc123/v3/",
         StoreBase(AccountKind.API, "http://127.0.0.1:8010/stores/abc123/v2", "http://127.0.0.1:8010/stores/abc123/v3")),
        ("http://localhost:8010/stores/abc123",
         StoreBase(AccountKind.API, "http://localhost:8010/stores/abc123/v2", "http://localhost:8010/stores/abc123/v3")),
    ],
)  # fmt: skip
def test_store_base_urls_reads_both_account_shapes(store_url: str, expected: StoreBase) -> None:
    assert store_base_urls(store_url) == expected


@pytest.mark.parametrize(
    "store_url",
    [
        "http://store-abc.mybigcommerce.com/api/v2",
        "store-abc.mybigcommerce.com/api/v2",
        "https://api.bigcommerce.com/",
        "https://api.bigcommerce.com/api/v2",
        "https://api.bigcommerce.com/stores/",
        "https://api.bigcommerce.com/stores/abc123/v4",
        "https://store-abc.mybigcommerce.com/",
        "https://store-abc.mybigcommerce.com/api/v3",
        "https://store-abc.mybigcommerce.com/api/v2?x=1",
        "https://user:pw@store-abc.mybigcommerce.com/api/v2",
        "ftp://store-abc.mybigcommerce.com/api/v2",
        "",
    ],
)
def test_store_base_urls_rejects_other_urls(store_url: str) -> None:
    with pytest.raises(ValueError, match=r"store\.url"):
        store_base_urls(store_url)


@pytest.mark.parametrize("key", ["limit", "page", "after", "before", "LIMIT"])
def test_a_raw_url_that_sets_a_paging_key_the_poller_owns_is_refused_naming_it(key: str) -> None:
    """#14: '&limit=50' with 120 new orders delivered 50 and moved the watermark past the others."""
    url = f"/v2/orders?min_date_modified=${{date:EEE, dd MMM yyyy HH:mm:ss Z}}&{key}=50"

    with pytest.raises(UnsupportedResource, match=f"'{key}' set by the poller"):
        plan_request(url, AccountKind.API)


@pytest.mark.parametrize(
    ("url", "kind", "upper"),
    [
        ("/v2/orders?min_date_modified=${date:EEE, dd MMM yyyy HH:mm:ss Z}", AccountKind.LEGACY, "max_date_modified"),
        ("/v2/products?min_date_modified=${date:EEE, dd MMM yyyy HH:mm:ss Z}&is_visible=true", AccountKind.LEGACY,
         "max_date_modified"),
        ("/v3/catalog/products?date_modified:min=${date:yyyy-MM-dd'T'HH:mm:ss'Z'}", AccountKind.API,
         "date_modified:max"),
        # The URL's own order, upper bound or id bound, a created-date placeholder, v3 customers
        # (no id keyset), an unknown path: paged by number, repeated when records move.
        ("/v2/orders?min_date_modified=${date:EEE, dd MMM yyyy HH:mm:ss Z}&sort=date_modified:asc", AccountKind.LEGACY,
         None),
        ("/v2/orders?min_date_modified=${date:EEE, dd MMM yyyy HH:mm:ss Z}&max_date_modified=Mon, 01 Jan 2035 "
         "00:00:00 +0000", AccountKind.LEGACY, None),
        ("/v2/orders?min_date_modified=${date:EEE, dd MMM yyyy HH:mm:ss Z}&min_id=10", AccountKind.LEGACY, None),
        ("/v2/orders?min_date_created=${date:EEE, dd MMM yyyy HH:mm:ss Z}", AccountKind.LEGACY, None),
        ("/v3/customers?date_modified:min=${date:yyyy-MM-dd'T'HH:mm:ss'Z'}", AccountKind.API, None),
        ("/v2/coupons?min_date_modified=${date:EEE, dd MMM yyyy HH:mm:ss Z}", AccountKind.LEGACY, None),
    ],
)  # fmt: skip
def test_a_raw_url_on_a_known_endpoint_gets_the_upper_bound_it_can_be_pinned_by(
    url: str, kind: AccountKind, upper: str | None
) -> None:
    """#14 item 3: raw passes had no upper bound and no resume point; where the endpoint allows the
    hub's paging (an id keyset inside a pinned window), they now have both."""
    assert plan_request(url, kind).until_key == upper
