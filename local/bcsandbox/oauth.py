"""The app OAuth flow's token exchange (`POST https://login.bigcommerce.com/oauth2/token`).

Research §1c: the app posts client_id, client_secret, code, context, scope, grant_type
(`authorization_code`) and redirect_uri, as JSON or as a form, and gets back a permanent token.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from bcsandbox.messages import Request, Response, json_response

if TYPE_CHECKING:
    from bcsandbox.store import SandboxStore


class OAuthRefused(Exception):
    """The exchange fails; `status` is 400 (bad grant) or 401 (bad client)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


@dataclass(frozen=True)
class _Code:
    client_id: str
    scope: str
    redirect_uri: str | None


class OAuthApps:
    """Registered apps and the one-time authorization codes issued to them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}
        self._codes: dict[str, _Code] = {}

    def register(self, client_id: str, client_secret: str) -> None:
        """Register (or re-key) an app."""
        with self._lock:
            self._secrets[client_id] = client_secret

    def issue_code(self, client_id: str, scope: str, redirect_uri: str | None) -> str:
        """A one-time code, as the auth callback would deliver it to the app."""
        with self._lock:
            if client_id not in self._secrets:
                raise KeyError(client_id)
            code = secrets.token_urlsafe(16)
            self._codes[code] = _Code(client_id, scope, redirect_uri)
            return code

    def exchange(self, form: dict[str, str], store_hash: str) -> tuple[str, str]:
        """Check a token request; a known client's code is spent even if the rest is wrong."""
        missing = [
            name
            for name in ("client_id", "client_secret", "code", "context", "grant_type")
            if not form.get(name)
        ]
        if missing:
            raise OAuthRefused(400, "invalid_request", f"Missing parameter(s): {', '.join(missing)}")
        if form["grant_type"] != "authorization_code":
            raise OAuthRefused(400, "unsupported_grant_type", "grant_type must be authorization_code")
        with self._lock:
            if not secrets.compare_digest(
                self._secrets.get(form["client_id"], ""), form["client_secret"]
            ) or (form["client_id"] not in self._secrets):
                raise OAuthRefused(401, "invalid_client", "Invalid client id or secret.")
            code = self._codes.pop(form["code"], None)
        if code is None or code.client_id != form["client_id"]:
            raise OAuthRefused(400, "invalid_grant", "Invalid or expired authorization code.")
        if form["context"] != f"stores/{store_hash}":
            raise OAuthRefused(400, "invalid_grant", "The context does not match the authorizing store.")
        if code.redirect_uri is not None and form.get("redirect_uri") != code.redirect_uri:
            raise OAuthRefused(400, "invalid_grant", "redirect_uri does not match the registered callback.")
        return secrets.token_hex(16), form.get("scope") or code.scope

    def clear_codes(self) -> None:
        """Forget unspent codes."""
        with self._lock:
            self._codes.clear()


def token_response(token: str, scope: str, store_hash: str, email: str) -> dict[str, Any]:
    """The documented token response: access_token, scope, user, owner, context, account_uuid."""
    user = {"id": 24654, "username": email, "email": email}
    return {
        "access_token": token,
        "scope": scope,
        "user": user,
        "owner": dict(user),
        "context": f"stores/{store_hash}",
        "account_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bcsandbox:{store_hash}:account")),
    }


def handle_token_request(store: SandboxStore, request: Request) -> Response:
    """`POST /oauth2/token`: exchange a code for a token that then works as an API-account token."""
    if request.method != "POST":
        return json_response(
            405, {"error": "invalid_request", "error_description": "Use POST."}, {"Allow": "POST"}
        )
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    form: dict[str, str]
    try:
        if content_type == "application/json":
            raw = json.loads(request.body or b"{}")
            if not isinstance(raw, dict):
                raise ValueError("body must be a JSON object")
            form = {str(k): str(v) for k, v in raw.items()}
        else:
            form = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
    except (ValueError, UnicodeDecodeError):
        return json_response(400, {"error": "invalid_request", "error_description": "Unreadable body."})
    try:
        token, scope = store.oauth.exchange(form, store.store_hash)
    except OAuthRefused as refused:
        return json_response(refused.status, refused.body)
    store.add_access_token(token)
    return json_response(200, token_response(token, scope, store.store_hash, store.admin_email))
