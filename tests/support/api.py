"""Call the api function the way API Gateway does, starting from the sample events in events/."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events"


@dataclass
class LambdaContext:
    """The parts of a Lambda context the handlers and Powertools read."""

    function_name: str = "bcevents-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:bcevents-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/ (a deep copy: tests change them freely)."""
    return copy.deepcopy(json.loads((EVENTS / name).read_text()))


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str]


class ApiClient:
    """Sends API Gateway REST proxy events to ``api_handler.lambda_handler``."""

    def __init__(self, authorization: str | None) -> None:
        self.authorization = authorization

    @classmethod
    def with_new_organization(cls, name: str) -> ApiClient:
        from bcevents.api.access import create_organization

        org = create_organization(name)
        return cls(f"User {org.user_secret}, Organization {org.organization_secret}")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw_body: str | None = None,
        query: dict[str, str] | None = None,
    ) -> ApiResponse:
        from api_handler import lambda_handler

        event = load_event("api_get_instance.json")
        event["httpMethod"] = method
        event["path"] = path
        event["resource"] = path
        event["pathParameters"] = None
        event["queryStringParameters"] = query
        event["requestContext"]["requestId"] = str(uuid.uuid4())
        event["headers"] = {"Content-Type": "application/json", **(headers or {})}
        if self.authorization is not None and "Authorization" not in event["headers"]:
            event["headers"]["Authorization"] = self.authorization
        event["body"] = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        result = lambda_handler(event, LambdaContext(aws_request_id=str(uuid.uuid4())))
        text = result.get("body") or ""
        return ApiResponse(
            result["statusCode"], json.loads(text) if text else None, result.get("headers") or {}
        )

    def post(self, path: str, body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("POST", path, body, **kw)

    def get(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("GET", path, **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> ApiResponse:
        return self.request("PATCH", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("DELETE", path, **kw)
