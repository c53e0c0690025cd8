"""Errors the sandbox answers with, in each API version's shape."""

from __future__ import annotations

from typing import Any

# The `type` BigCommerce's v3 error examples carry (customers spec, 429 example).
ERROR_TYPE = "/api-docs/getting-started/api-status-codes"


class ApiError(Exception):
    """A request BigCommerce would refuse; `field` names the offending query parameter, if any."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.details = details or {}


def invalid_field(name: str, *, v3: bool = False) -> ApiError:
    """v2's "The field 'x' is invalid." (400); v3 answers an invalid filter with 422."""
    if v3:
        return ApiError(422, "Invalid filter parameter(s)", field=name)
    return ApiError(400, f"The field '{name}' is invalid.", field=name)


def limit_too_large(max_limit: int) -> ApiError:
    """413 with `max_limit`, as seen on v2 (bigcommerce-api-python#59)."""
    return ApiError(413, "The specified limit exceeds the maximum allowed.", details={"max_limit": max_limit})


def v2_body(error: ApiError) -> list[dict[str, Any]]:
    """v2's error shape: a list of `{status, message}` objects."""
    item: dict[str, Any] = {"status": error.status, "message": error.message}
    if error.details:
        item["details"] = error.details
    return [item]


def v3_body(error: ApiError) -> dict[str, Any]:
    """v3's error shape (`ErrorResponse`/`GeneralError`): status, title, type, errors."""
    errors: dict[str, Any] = {}
    if error.field:
        errors[error.field] = f"The value of '{error.field}' is invalid."
    body: dict[str, Any] = {
        "status": error.status,
        "title": error.message,
        "type": ERROR_TYPE,
        "errors": errors,
    }
    body.update(error.details)
    return body
