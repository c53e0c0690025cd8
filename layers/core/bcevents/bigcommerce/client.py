"""The BigCommerce REST client: pooled, guarded, paced by the store's rate limit.

One session per store credential set; every request goes through the egress guard. 5xx answers
and connection errors are retried with backoff by urllib3; 429s and an exhausted quota are waited
out using the store's own reset header, never by guessing; an empty v2 list (HTTP 204, no body)
is an empty page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.util.retry import Retry

from bcevents.bigcommerce import endpoints
from bcevents.compat.configuration import InstanceConfiguration
from bcevents.egress import guarded_session
from bcevents.errors import StoreRejectedCredentials, StoreRequestFailed, StoreThrottled, StoreUnavailable
from bcevents.observability import logger
from bcevents.settings import get_settings

USER_AGENT = "bigcommerce-events/0.1 (+self-hosted Cloud Elements polling successor)"
#: Waits the store asks for below this are taken; longer ones end the run (the next run resumes).
_MAX_429_RETRIES = 5
_FALLBACK_429_WAIT = 5.0  # a 429 without reset headers means platform load: back off longer


@dataclass(frozen=True)
class StoreAuth:
    """How to authenticate: Basic (legacy account) or ``X-Auth-Token`` (API account)."""

    username: str | None = None
    password: str | None = None
    access_token: str | None = None

    def apply(self, session: requests.Session) -> None:
        """Put the credentials on a session."""
        if self.access_token:
            session.headers["X-Auth-Token"] = self.access_token
        elif self.username is not None and self.password is not None:
            session.auth = (self.username, self.password)


@dataclass
class Page:
    """One answer of a list endpoint."""

    records: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class RateLimit:
    """What the store said about its quota in its last answer."""

    left: int | None = None
    reset_at: float = 0.0  # monotonic time at which the window resets


class BigCommerceClient:
    """Requests to one store with one set of credentials."""

    def __init__(
        self,
        auth: StoreAuth,
        *,
        remaining_seconds: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        settings = get_settings()
        retry = Retry(
            total=3,
            connect=3,
            read=2,
            status=3,
            backoff_factor=0.5,
            backoff_jitter=0.25,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self._session = guarded_session(
            allow_private=settings.allow_private_networks,
            user_agent=USER_AGENT,
            timeout=(5.0, settings.store_timeout_seconds),
            max_retries=retry,
        )
        self._session.headers["Accept"] = "application/json"
        auth.apply(self._session)
        self._remaining = remaining_seconds
        self._sleep = sleep
        self.rate = RateLimit()
        self.requests_made = 0
        self.throttled = 0

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def get_json(
        self, url: str, params: list[tuple[str, str]] | None = None
    ) -> tuple[Any, requests.Response]:
        """GET ``url`` and decode its JSON; None for 204 (BigCommerce's empty v2 list)."""
        response = self._get(url, params)
        if response.status_code == 204 or not response.content:
            return None, response
        try:
            return response.json(), response
        except ValueError as exc:
            raise StoreUnavailable(f"the store answered {url} with malformed JSON") from exc

    def list_page(self, url: str, params: list[tuple[str, str]] | None = None) -> Page:
        """One page of a v2 (bare array) or v3 (``{data, meta}``) list endpoint."""
        body, _ = self.get_json(url, params)
        if body is None:
            return Page([])
        if isinstance(body, list):
            return Page(body)
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            return Page(body["data"], body.get("meta") or {})
        raise StoreUnavailable(f"the store answered {url} with an unexpected body shape")

    def store_time(self, v2_root: str) -> datetime:
        """The store's clock (``GET /v2/time``), which bounds every poll window."""
        body, response = self.get_json(f"{v2_root.rstrip('/')}/time")
        if isinstance(body, dict) and isinstance(body.get("time"), int | float):
            return datetime.fromtimestamp(body["time"], UTC)
        date_header = response.headers.get("Date")
        if date_header:
            return parsedate_to_datetime(date_header).astimezone(UTC)
        raise StoreUnavailable("the store's /v2/time answer has no time")

    # --------------------------------------------------------------------------------------
    def _get(self, url: str, params: list[tuple[str, str]] | None) -> requests.Response:
        for _ in range(_MAX_429_RETRIES + 1):
            self._pace()
            try:
                response = self._session.get(url, params=params)
            except requests.Timeout as exc:
                raise StoreUnavailable(f"the store did not answer in time ({type(exc).__name__})") from exc
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                # Resets are retried by urllib3 first; a body cut short surfaces here.
                raise StoreUnavailable(f"cannot reach the store ({type(exc).__name__})") from exc
            self.requests_made += 1
            self._note_rate(response)
            if response.status_code != 429:
                return self._checked(response)
            self.throttled += 1
            logger.warning("store rate limit hit", extra={"reset_in": self.rate.reset_at - time.monotonic()})
            if self.rate.reset_at <= time.monotonic():
                self.rate.reset_at = time.monotonic() + _FALLBACK_429_WAIT
            self.rate.left = 0
        raise StoreThrottled("the store kept answering 429")

    def _pace(self) -> None:
        if self.rate.left is None or self.rate.left > 0:
            return
        wait = self.rate.reset_at - time.monotonic()
        if wait <= 0:
            return
        if self._remaining is not None and wait > self._remaining():
            raise StoreThrottled(f"the store's quota resets in {wait:.1f}s, after this run must end")
        self._sleep(wait)

    def _note_rate(self, response: requests.Response) -> None:
        left = response.headers.get("X-Rate-Limit-Requests-Left")
        reset_ms = response.headers.get("X-Rate-Limit-Time-Reset-Ms")
        if left is not None and left.strip().lstrip("-").isdigit():
            self.rate.left = int(left)
        if reset_ms is not None and reset_ms.strip().isdigit():
            self.rate.reset_at = time.monotonic() + int(reset_ms) / 1000

    @staticmethod
    def _checked(response: requests.Response) -> requests.Response:
        status = response.status_code
        if status < 300:
            return response
        reason = _store_message(response)
        if status in (401, 403):
            raise StoreRejectedCredentials(f"the store answered {status}: {reason}")
        if status >= 500:
            raise StoreUnavailable(f"the store answered {status}: {reason}")
        raise StoreRequestFailed(f"the store answered {status}: {reason}")


def _store_message(response: requests.Response) -> str:
    """The store's own error text, trimmed (BigCommerce errors carry no secrets)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or "no detail"
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict):
        for key in ("message", "title", "error", "error_description"):
            if isinstance(body.get(key), str):
                return str(body[key])[:300]
    return response.reason or "no detail"


@dataclass(frozen=True)
class OAuthGrant:
    """What BigCommerce's token endpoint returns for an authorization code."""

    access_token: str
    store_hash: str
    scope: str


def exchange_oauth_code(
    *, client_id: str, client_secret: str, code: str, context: str, scope: str, redirect_uri: str
) -> OAuthGrant:
    """Trade an app authorization code for a store access token (``POST /oauth2/token``)."""
    settings = get_settings()
    session = guarded_session(
        allow_private=settings.allow_private_networks, user_agent=USER_AGENT, timeout=(5.0, 15.0)
    )
    with session:
        try:
            response = session.post(
                f"{settings.bigcommerce_login_url.rstrip('/')}/oauth2/token",
                json={
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "code": code,
                    "context": context,
                    "scope": scope,
                    "grant_type": "authorization_code",
                    "redirect_uri": redirect_uri,
                },
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as exc:
            raise StoreUnavailable(
                f"cannot reach the BigCommerce token endpoint ({type(exc).__name__})"
            ) from exc
    if response.status_code >= 500:
        raise StoreUnavailable(f"the BigCommerce token endpoint answered {response.status_code}")
    if response.status_code != 200:
        raise StoreRejectedCredentials(
            f"the BigCommerce token endpoint refused the code ({response.status_code}: {_store_message(response)})"
        )
    body = response.json()
    context_value = str(body.get("context") or context)
    return OAuthGrant(
        access_token=str(body["access_token"]),
        store_hash=context_value.removeprefix("stores/"),
        scope=str(body.get("scope", scope)),
    )


def store_auth(config: InstanceConfiguration) -> StoreAuth:
    """The credentials the client sends to the store."""
    if config.access_token is not None:
        return StoreAuth(access_token=config.access_token.get_secret_value())
    password = config.password.get_secret_value() if config.password else None
    return StoreAuth(username=config.username, password=password)


def check_credentials(config: InstanceConfiguration) -> None:
    """Ask the store for its time with the instance's credentials (raises StoreRejectedCredentials)."""
    base = endpoints.store_base_urls(config.store_url or "")
    client = BigCommerceClient(store_auth(config))
    try:
        client.store_time(base.v2_root)
    finally:
        client.close()
