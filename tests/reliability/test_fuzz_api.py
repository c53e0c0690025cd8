"""API fuzzing: schemathesis generates requests from the served OpenAPI document.

Every operation gets valid (positive) and invalid (negative) requests, authenticated as a real
organization (moto), half of them aimed at an instance that exists. The api function is called
in-process through a small WSGI adapter that turns each request into the API Gateway proxy event
Lambda would receive (the local stack will serve the same function over HTTP). Invariants: no
5xx at all, every status is one the document declares for the operation, and every 4xx body
says what is wrong (a message; for a 400, each offending key).
"""

from __future__ import annotations

import base64
import math
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from tests.support.api import ApiClient, LambdaContext, load_event
from tests.support.bodies import api_account

#: At least this many requests in all, spread over the document's operations (schemathesis's CLI
#: sends ~700 more, every check and phase, through the local stack: tests/e2e/test_fuzz_local.py).
MINIMUM_TOTAL = 750

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
#: The raw body of the request being answered (to tell a known failure from a new one).
_last_body: list[bytes] = [b""]


def api_gateway(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """A WSGI application that is the api function behind API Gateway (REST, proxy integration)."""
    from api_handler import lambda_handler

    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    _last_body[0] = raw
    headers = {
        key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    event = load_event("api_get_instance.json")
    event.update(
        httpMethod=environ["REQUEST_METHOD"],
        path=environ["PATH_INFO"],
        resource=environ["PATH_INFO"],
        pathParameters=None,
        headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        queryStringParameters={k: v[-1] for k, v in query.items()} or None,
        multiValueQueryStringParameters=query or None,
    )
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    try:
        event["body"], event["isBase64Encoded"] = (raw.decode() if raw else None), False
    except UnicodeDecodeError:
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    result = lambda_handler(event, LambdaContext(aws_request_id=str(uuid.uuid4())))
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response_headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        response_headers += [(name, str(v)) for v in values]
    start_response(f"{result['statusCode']} -", response_headers)
    return [payload]


@pytest.fixture
def instance_id(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> str:
    """An instance of the fuzzing organization ("poll now" cannot invoke Lambda in moto)."""
    from bcevents.aws import schedules

    monkeypatch.setattr(schedules, "trigger_poll", lambda instance_id: None)
    body = api_account("https://api.bigcommerce.com/stores/abc123/v3/", "t", "https://hooks.example.com/x")
    body["validateCredentials"] = False
    created = api.post("/instances", body)
    assert created.status == 200, created.body
    return str(created.body["id"])


def _says_what_is_wrong(status: int, body: Any) -> str | None:
    """Why a 4xx body fails to name its problem (None when it does)."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), str) or not body["message"].strip():
        return "no message"
    if status == 400:
        errors = body.get("errors")
        if not errors or not all(isinstance(e, dict) and e.get("key") and e.get("reason") for e in errors):
            return "a 400 without each offending key and why"
    return None


def test_no_generated_request_gets_a_5xx_and_every_4xx_names_the_problem(
    api: ApiClient, instance_id: str
) -> None:
    from bcevents.aws.tables import get_storage

    storage = get_storage()
    original = storage.get_instance(instance_id)
    assert original is not None
    schema = schemathesis.openapi.from_wsgi("/openapi.json", api_gateway)
    declared = {
        (method, path): set(operation["responses"])
        for path, methods in schema.raw_schema["paths"].items()
        for method, operation in methods.items()
    }
    operations = [result.ok() for result in schema.get_all_operations()]
    headers = {"Authorization": api.authorization}
    per_operation = math.ceil(1.1 * MINIMUM_TOTAL / len(operations))
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    not_utf8: list[str] = []

    for operation in operations:
        fixed = {"instance_id": instance_id} if "{instance_id}" in operation.path else None
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE, headers=headers),
            operation.as_strategy(GenerationMode.POSITIVE, headers=headers, path_parameters=fixed),
            operation.as_strategy(GenerationMode.NEGATIVE, headers=headers),
            operation.as_strategy(GenerationMode.NEGATIVE, headers=headers, path_parameters=fixed),
        )

        @settings(
            max_examples=per_operation,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def call(case: Any) -> None:
            if storage.get_instance(instance_id) is None:  # a generated DELETE removed it
                storage.put_new_instance(original)
            try:
                response = case.call()
            except UnicodeDecodeError:
                # Known bug (test_a_body_that_is_not_utf8_is_a_400): only such bodies may do this.
                assert not _is_utf8(_last_body[0]), "UnicodeDecodeError on a UTF-8 body"
                not_utf8.append(f"{case.method} {case.formatted_path}")
                return
            statuses[response.status_code] += 1
            where = f"{case.method} {case.formatted_path}"
            if str(response.status_code) not in declared[(case.method.lower(), case.path)]:
                problems.append(f"{where}: {response.status_code}, which the document does not declare")
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code} {response.text[:300]}")
            elif response.status_code >= 400:
                try:
                    body = response.json()
                except ValueError:
                    body = response.text
                why = _says_what_is_wrong(response.status_code, body)
                if why:
                    problems.append(f"{where}: {response.status_code} {why}: {str(body)[:300]}")

        call()

    print(f"fuzzed {sum(statuses.values())} requests: {dict(statuses)}; not UTF-8: {len(not_utf8)}")
    assert problems == []
    assert sum(statuses.values()) + len(not_utf8) >= MINIMUM_TOTAL, statuses
    assert statuses[400]  # invalid requests were refused...
    assert any(200 <= s < 300 for s in statuses)  # ...and valid ones served


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def test_a_body_that_is_not_utf8_is_a_400(api: ApiClient, instance_id: str) -> None:
    from werkzeug.test import Client

    client = Client(api_gateway)
    response = client.put(
        f"/instances/{instance_id}",
        data=b"\x80{}",
        headers={"Authorization": api.authorization or "", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["errors"][0]["key"] == "body"


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/xml",
        "garbage",
        "application/json garbage",
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/instances"), ("PATCH", "/instances/123456789012"), ("PUT", "/instances/123456789012")],
)
def test_a_body_that_is_not_json_is_a_415_with_the_error_body(
    api: ApiClient, content_type: str, method: str, path: str
) -> None:
    """#14: a multipart type without its boundary escaped the api function (a 502), and forms were read as bodies."""
    response = api.request(method, path, None, headers={"Content-Type": content_type}, raw_body="a=b")

    assert response.status == 415, response.body
    assert set(response.body) == {"message", "errors", "requestId"}  # ErrorBody, as every error


def test_a_body_that_is_not_json_without_credentials_is_a_401(api: ApiClient) -> None:
    api.authorization = None

    response = api.request(
        "POST", "/instances", None, headers={"Content-Type": "multipart/form-data"}, raw_body="a=b"
    )

    assert response.status == 401


@pytest.mark.parametrize(
    ("content_type", "raw_body", "status"),
    [
        ("application/merge-patch+json", '{"name": "merged"}', 200),
        ("Application/JSON", '{"name": "merged"}', 200),
        ("application/merge-patch+json", "{", 400),
        ("application/json; charset=latin-1", "a=b", 400),
        ("garbage", None, 400),  # no body: nothing to refuse but its absence
    ],
)
def test_a_json_type_powertools_does_not_know_is_read_as_json(
    api: ApiClient, instance_id: str, content_type: str, raw_body: str | None, status: int
) -> None:
    """#14: these got Powertools' own 415 body ({"statusCode": 415, "detail": ...}), not the error body."""
    response = api.request(
        "PATCH", f"/instances/{instance_id}", None, headers={"Content-Type": content_type}, raw_body=raw_body
    )

    assert response.status == status, response.body
    if status == 400:
        assert response.body["errors"] == [
            {"key": "body", "reason": "is not valid JSON" if raw_body else "Field required"}
        ]
    else:
        assert response.body["name"] == "merged"
