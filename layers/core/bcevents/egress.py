"""The one egress guard: which addresses the service may reach, checked at creation and at connect.

Every outbound request (BigCommerce and callbacks) goes through :func:`guarded_session`. Its
adapter resolves the host once, refuses forbidden addresses and connects to the very address it
checked (the hostname is kept for the ``Host`` header, SNI and certificate checks), so a DNS answer
that changes between the check and the connect (rebinding) cannot reach an internal address.

We follow requests-hardened's design (and reuse its list of extra blocked ranges), but not its
adapter: its policy can only allow loopback, while a deployment that allows private networks must
reach RFC 1918 addresses too and must still never reach link-local or cloud metadata addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES

from bcevents.errors import EgressRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Cloud metadata endpoints (AWS IMDS over IPv4 and IPv6): never reachable, whatever the setting.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


def refusal_reason(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``ip`` may not be reached, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "is a cloud metadata address"
    if ip.is_link_local:
        return "is a link-local address"
    if ip.is_loopback:
        # Checked before "reserved": Python files ::1 under the reserved ::/8 block too.
        return (
            None
            if allow_private
            else "is a loopback address (allowed only when the deployment allows private networks)"
        )
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "is not a unicast address"
    if allow_private:
        return None
    if ip.is_private or any(ip in net for net in EXTRA_BLOCKED_NET_RANGES):
        return "is a private address (allowed only when the deployment allows private networks)"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (IP literals in any notation resolve to themselves)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def check_url(url: str, *, allow_private: bool, require_resolution: bool = False) -> None:
    """Refuse a user-supplied URL that is not http(s) or whose host is a forbidden address.

    A name that does not resolve here is accepted unless ``require_resolution``: it may resolve
    from the deployment's network, and the connect-time guard checks it again anyway.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise EgressRefused(f"{url!r} is not an http(s) URL")
    host = parts.hostname
    if not host:
        raise EgressRefused(f"{url!r} has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise EgressRefused(f"{url!r} has an invalid port") from exc
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        if require_resolution:
            raise EgressRefused(f"host {host!r} does not resolve") from exc
        return
    for ip in addresses:
        reason = refusal_reason(ip, allow_private=allow_private)
        if reason:
            raise EgressRefused(f"host {host!r} resolves to {ip}, which {reason}")


class GuardedAdapter(HTTPAdapter):
    """An adapter that connects only to addresses the policy allows, pinned for the request."""

    def __init__(self, *, allow_private: bool, **kwargs: Any) -> None:
        self._allow_private = allow_private
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> Any:
        params = super().build_connection_pool_key_attributes(request, verify, cert)
        # requests types these as TypedDicts that omit urllib3's TLS keyword arguments.
        host_params: dict[str, Any] = params[0]  # type: ignore[assignment]
        pool_kwargs: dict[str, Any] = params[1]  # type: ignore[assignment]
        hostname: str = host_params["host"]
        port: int = host_params["port"] or (443 if host_params["scheme"] == "https" else 80)
        try:
            addresses = resolve(hostname, port)
        except OSError as exc:
            raise requests.ConnectionError(f"cannot resolve {hostname!r}") from exc
        ip = addresses[0]
        reason = refusal_reason(ip, allow_private=self._allow_private)
        if reason:
            raise EgressRefused(f"host {hostname!r} resolves to {ip}, which {reason}")
        headers = CaseInsensitiveDict(request.headers or {})
        host_header = f"[{hostname}]" if ":" in hostname else hostname
        if host_params["port"] is not None:
            host_header += f":{host_params['port']}"
        headers["Host"] = host_header
        request.headers = headers
        if host_params["scheme"] == "https":
            # The certificate and SNI must match the name, not the pinned address.
            pool_kwargs["assert_hostname"] = hostname
            pool_kwargs["server_hostname"] = hostname
        host_params["host"] = str(ip)
        return host_params, pool_kwargs


class GuardedSession(requests.Session):
    """A session that never follows redirects and always has a timeout."""

    def __init__(self, timeout: float | tuple[float, float]) -> None:
        super().__init__()
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        # A redirect could lead anywhere (including back inside); callers treat 3xx as a failure.
        kwargs["allow_redirects"] = False
        if not kwargs.get("timeout"):
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def guarded_session(
    *,
    allow_private: bool,
    user_agent: str,
    timeout: float | tuple[float, float],
    max_retries: Any = 0,
    pool_maxsize: int = 10,
) -> GuardedSession:
    """A pooled ``requests`` session whose every connection passes the egress guard."""
    session = GuardedSession(timeout)
    adapter = GuardedAdapter(allow_private=allow_private, max_retries=max_retries, pool_maxsize=pool_maxsize)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    session.trust_env = False
    return session
