"""Translate Cloud Elements ecommerce-hub resource URLs into BigCommerce requests (no HTTP here).

``/hubs/ecommerce/{orders|products|customers}?where=<CEQL>`` becomes the endpoint each account
kind can reach (legacy Basic-auth accounts: v2 only; API accounts: v2 orders, v3 catalog
products, v3 customers) with that endpoint's own date filters, ascending sort and paging. A
raw ``/v2/...`` or ``/v3/...`` path is kept as given, its placeholders rendered at poll time.

The endpoints themselves, their date encodings and sorts, are in ``bigcommerce.endpoints``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from bcevents.bigcommerce.endpoints import HUB, MAX_LIMIT, SUPPORTED, DateEncoding, Endpoint, StoreBase
from bcevents.compat.ceql import Term, UnsupportedQuery, date_role, literal_date, mask, parse_where, unmask
from bcevents.compat.configuration import AccountKind
from bcevents.compat.javadate import RFC2822, compile_pattern
from bcevents.compat.urltemplate import render_text, template_placeholders

_RAW_PATH = re.compile(r"/(v[23])(/[^?#]+)")
#: Query keys of a raw URL that are the poller's: a URL that sets its own page size, page or cursor
#: makes the poller skip records (a limit of 50 read 50 of 120 and moved past the rest) or re-read
#: one page. An order the user sets stays: a raw pass detects records moving while it pages and
#: repeats itself (``polling.strategies.PinnedWindow``).
RAW_PAGING_KEYS = frozenset({"limit", "page", "after", "before"})


class UnsupportedResource(ValueError):
    """The resource URL names something this element cannot poll."""


@dataclass(frozen=True)
class ResourcePlan:
    """How to poll one resource: endpoint, fixed filters, date bounds, sort and paging.

    ``since_key``/``until_key`` carry the window (rendered from the poller's ``since``/``until``,
    never from the user's literal format, whose pattern is kept in ``since_pattern``);
    ``floor``/``ceiling`` are literal bounds the user wrote on the same field and narrow the
    window. ``also_since_keys`` are other lower bounds the user tied to the last poll date.
    ``date_field`` is the record field the window filters on. Raw plans keep ``raw_params``
    unrendered (see :func:`render_raw`).
    """

    resource: str
    version: int
    path: str
    template: str
    raw: bool = False
    filters: dict[str, str] = field(default_factory=dict)
    date_filters: dict[str, datetime] = field(default_factory=dict)
    since_key: str | None = None
    until_key: str | None = None
    also_since_keys: tuple[str, ...] = ()
    floor: datetime | None = None
    ceiling: datetime | None = None
    since_pattern: str | None = None
    date_field: str = "date_modified"
    date_encoding: DateEncoding = DateEncoding.RFC2822
    encode_colons: bool = True
    sort: tuple[tuple[str, str], ...] = ()
    sorted_by_date: bool = False
    raw_params: tuple[tuple[str, str], ...] = ()
    page_param: str = "page"
    limit_param: str = "limit"
    max_limit: int = MAX_LIMIT


def plan_request(resource_url: str, kind: AccountKind | str) -> ResourcePlan:
    """Plan the BigCommerce request behind a poller ``url`` for an account kind.

    Raises UnsupportedResource or UnsupportedQuery (both ValueError) naming the resource and
    the offending term; a malformed ``${...}`` raises ValueError from the template engine.
    """
    account = AccountKind(kind)
    if account not in HUB:
        raise UnsupportedResource(
            f"a {account.value} account polls once its token is exchanged (an API account)"
        )
    url = resource_url.strip()
    originals = [p.text for p in template_placeholders(url)]
    masked = mask(url, originals)
    path, _, query = masked.partition("?")
    path = path if path.startswith("/") else f"/{path}"
    pairs = [(unquote(k), unquote(v)) for k, _, v in (p.partition("=") for p in query.split("&") if p)]
    raw = _RAW_PATH.fullmatch(path)
    if raw:
        return _raw_plan(url, account, int(raw.group(1)[1]), raw.group(2), pairs, originals)
    segments = path.strip("/").split("/")
    if len(segments) < 3 or segments[0] != "hubs":
        raise UnsupportedResource(f"resource {url!r} is not supported: {SUPPORTED}")
    name = segments[2]
    endpoint = HUB[account].get(name) if segments[1] == "ecommerce" and len(segments) == 3 else None
    if endpoint is None:
        raise UnsupportedResource(
            f"resource {name!r} ({unmask(path, originals)}) is not supported: {SUPPORTED}"
        )
    where = ""
    for key, value in pairs:
        if key != "where":
            raise UnsupportedQuery(
                f"resource {name!r}: query parameter {key!r} is not supported, only where="
            )
        where = value
    terms = parse_where(where, originals, name)
    return _hub_plan(name, url, endpoint, terms)


def _raw_plan(
    url: str,
    account: AccountKind,
    version: int,
    path: str,
    pairs: list[tuple[str, str]],
    originals: list[str],
) -> ResourcePlan:
    if version == 3 and account is AccountKind.LEGACY:
        raise UnsupportedResource(f"resource {url!r}: legacy (Basic auth) accounts reach only /v2 paths")
    if "\x00" in path or any("\x00" in key for key, _ in pairs):
        raise UnsupportedResource(f"resource {url!r}: placeholders may appear only in query values")
    owned = sorted({key for key, _ in pairs if key.lower() in RAW_PAGING_KEYS})
    if owned:
        raise UnsupportedResource(
            f"resource {url!r}: {', '.join(repr(k) for k in owned)} set by the poller, who pages "
            "(limit from pageSize, then page by page); remove it from the URL"
        )
    params = tuple((key, unmask(value, originals)) for key, value in pairs)
    dated = [(key, value) for key, value in params if "${" in value]
    return ResourcePlan(
        resource=f"/v{version}{path}", version=version, path=path, template=url, raw=True,
        raw_params=params, since_key=dated[0][0] if dated else None,
        until_key=_raw_upper_key(version, path, params, dated),
        since_pattern=template_placeholders(dated[0][1])[0].text if dated else None,
        date_encoding=DateEncoding.RFC2822 if version == 2 else DateEncoding.ISO8601_Z,
        encode_colons=version == 2,
    )  # fmt: skip


def _raw_upper_key(
    version: int, path: str, params: tuple[tuple[str, str], ...], dated: list[tuple[str, str]]
) -> str | None:
    """The upper date bound the poller may add to a raw URL, pinning its window and paging it by
    id like the hub's (resumable, immune to records changing meanwhile): only where the URL's one
    placeholder is the endpoint's lower bound on ``date_modified``, the endpoint can be paged by
    id, and the URL sets no order, upper bound or id bound of its own. Otherwise None: the pass
    pages by number and repeats itself when records move."""
    endpoint = next(
        (e for kind in HUB.values() for e in kind.values() if (e.version, e.path) == (version, path)), None
    )
    if endpoint is None or len(dated) != 1 or dated[0][0] != endpoint.modified[0]:
        return None
    if version == 3 and path != "/catalog/products":
        return None  # v3 customers filter ids only by list: no id keyset
    keys = {key for key, _ in params}
    owned = {endpoint.modified[1], "sort", "direction", *(k for ks in endpoint.id_keys.values() for k in ks)}
    return None if keys & owned else endpoint.modified[1]


def _hub_plan(resource: str, url: str, endpoint: Endpoint, terms: list[Term]) -> ResourcePlan:
    roles = [(term, date_role(term, resource)) for term in terms]
    kinds = {role[0] for _, role in roles if role}
    if "created" in kinds and endpoint.created is None:
        raise UnsupportedQuery(
            f"resource {resource!r}: {endpoint.path} (v{endpoint.version}) has no date_created filter;"
            " filter on date_modified"
        )
    primary = "created" if kinds == {"created"} else "modified"
    filters: dict[str, str] = {}
    date_filters: dict[str, datetime] = {}
    also: list[str] = []
    floors: list[datetime] = []
    ceilings: list[datetime] = []
    patterns: list[str] = []
    for term, role in roles:
        if role is None:
            _add_filter(filters, endpoint, term, resource)
            continue
        date_kind, bound = role
        keys = endpoint.modified if date_kind == "modified" else endpoint.created
        key = keys[bound] if keys else ""
        if date_kind == primary:
            # The poller owns the window: a ${...} bound becomes since/until, a literal one narrows it.
            if term.placeholder:
                patterns.extend([term.placeholder] if bound == 0 else [])
            else:
                (floors if bound == 0 else ceilings).append(literal_date(term, resource))
        elif term.placeholder and bound == 0:
            also.append(key)
        elif term.placeholder:
            raise UnsupportedQuery(
                f"resource {resource!r}: {term.text!r}: an upper bound cannot be the poll date"
            )
        else:
            date_filters[key] = literal_date(term, resource)
    since_key, until_key = endpoint.modified if primary == "modified" else endpoint.created or ("", "")
    sort = endpoint.sort_modified if primary == "modified" else endpoint.sort_created
    return ResourcePlan(
        resource=resource, version=endpoint.version, path=endpoint.path, template=url, filters=filters,
        date_filters=date_filters, since_key=since_key, until_key=until_key, also_since_keys=tuple(also),
        floor=max(floors, default=None), ceiling=min(ceilings, default=None),
        since_pattern=patterns[0] if patterns else None, date_field=f"date_{primary}",
        date_encoding=endpoint.encoding, encode_colons=endpoint.version == 2, sort=sort,
        sorted_by_date=bool(sort),
    )  # fmt: skip


def _add_filter(filters: dict[str, str], endpoint: Endpoint, term: Term, resource: str) -> None:
    where = f"resource {resource!r}: {term.text!r}"
    if term.placeholder:
        raise UnsupportedQuery(f"{where}: only date fields may carry a ${{...}} placeholder")
    if term.name == "id":
        id_keys = endpoint.id_keys
        if term.op not in id_keys or not term.value.isdigit():
            ops = ", ".join(id_keys)
            raise UnsupportedQuery(f"{where}: {endpoint.path} compares id with {ops} and a whole number")
        # v2 bounds are inclusive, so a strict comparison moves by one.
        shift = {">": 1, "<": -1}.get(term.op, 0) if endpoint.version == 2 else 0
        entries = [(key, str(int(term.value) + shift)) for key in id_keys[term.op]]
    else:
        key = endpoint.equals.get(term.name)
        if key is None or term.op != "=":
            dates = ["date_modified", "date_created"] if endpoint.created else ["date_modified"]
            fields = ", ".join(sorted([*endpoint.equals, "id", *dates]))
            raise UnsupportedQuery(
                f"{where}: {endpoint.path} (v{endpoint.version}) supports field = value on {fields}"
            )
        entries = [(key, term.value)]
    for key, value in entries:
        if key in filters:
            raise UnsupportedQuery(f"{where}: {key} is already set by an earlier term")
        filters[key] = value


def render_params(
    plan: ResourcePlan,
    *,
    since: datetime,
    until: datetime | None,
    page: int,
    limit: int,
    also_since: datetime | None = None,
) -> list[tuple[str, str]]:
    """The query parameters of one page: fixed filters, the window as full timestamps, sort, paging.

    Dates are always full timestamps (a date-only v3 bound gets today's time added), floored
    to whole seconds (BigCommerce keeps seconds). ``since``/``until`` are sent as given (the pager
    decides how wide); a second placeholder of the URL (``date_created>='${...}'``) is rendered at
    ``also_since`` (the window's start; default ``since``).
    """
    if plan.raw:
        raise ValueError("raw plans are rendered with render_raw")
    if since.tzinfo is None or (until is not None and until.tzinfo is None):
        raise ValueError("since and until must be timezone-aware")
    if not 1 <= limit <= plan.max_limit or page < 1:
        raise ValueError(f"limit must be 1..{plan.max_limit} and page >= 1 (got limit={limit}, page={page})")
    lower = max(since, plan.floor) if plan.floor else since
    upper = min(until, plan.ceiling) if until and plan.ceiling else until or plan.ceiling
    params = list(plan.filters.items())
    if plan.since_key:
        params.append((plan.since_key, encode_date(lower, plan.date_encoding)))
    also = also_since or since
    params.extend((key, encode_date(also, plan.date_encoding)) for key in plan.also_since_keys)
    if upper is not None and plan.until_key:
        params.append((plan.until_key, encode_date(upper, plan.date_encoding)))
    params.extend((key, encode_date(value, plan.date_encoding)) for key, value in plan.date_filters.items())
    params.extend(plan.sort)
    params.extend([(plan.limit_param, str(limit)), (plan.page_param, str(page))])
    return params


def encode_date(value: datetime, encoding: DateEncoding) -> str:
    """A window bound as the endpoint writes dates (RFC 2822 on v2, ISO 8601 UTC on v3)."""
    utc = value.astimezone(UTC)
    if encoding is DateEncoding.RFC2822:
        return compile_pattern(RFC2822).format(utc)
    return utc.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def render_raw(plan: ResourcePlan, since: datetime, tz: str = "UTC") -> tuple[str, list[tuple[str, str]]]:
    """Path and raw query parameters of a raw /v2 or /v3 plan, its placeholders rendered at ``since``."""
    if not plan.raw:
        raise ValueError("hub plans are rendered with render_params")
    return plan.path, [(key, render_text(value, since=since, tz=tz)) for key, value in plan.raw_params]


def build_url(base: StoreBase, plan: ResourcePlan, params: list[tuple[str, str]]) -> str:
    """The full request URL, percent-encoded per endpoint (``+`` is always ``%2B``).

    Keys keep their colons (``date_modified:min``). Values keep colons on v3, where an encoded
    colon in a date is reported to fail (bigcommerce/docs#620), and encode them on v2, as
    BigCommerce staff showed for RFC 2822 dates (bigcommerce/api#121).
    """
    root = base.v2_root if plan.version == 2 else base.v3_root
    if root is None:
        raise UnsupportedResource(f"resource {plan.resource!r} needs /v3, which legacy accounts cannot reach")
    value_safe = "" if plan.encode_colons else ":"
    query = "&".join(f"{quote(k, safe=':')}={quote(v, safe=value_safe)}" for k, v in params)
    return f"{root}{quote(plan.path, safe='/')}" + (f"?{query}" if query else "")
