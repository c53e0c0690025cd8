"""The Lambda invoke endpoint (what ``sam local start-lambda`` offers): botocore's ``Invoke`` call, answered locally.

The api function's boto3 client reaches it through ``AWS_ENDPOINT_URL_LAMBDA``, so "poll now" takes
the same path locally as in AWS: ``Event`` invocations are accepted with 202 and run in the
background, ``RequestResponse`` ones answer 200 with the result (and ``X-Amz-Function-Error``
when the function failed), ``DryRun`` answers 204.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import unquote

from devstack.httpserver import HttpRequest, HttpResponse
from devstack.runtime import Runtime, summary
from devstack.workers import Outcome

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")


def _error(status: int, code: str, message: str) -> HttpResponse:
    # botocore's rest-json parser takes the error code from this header and the message from the body.
    body = json.dumps({"Type": "User", "message": message}).encode()
    return HttpResponse(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)], body)


def _describe(spec_name: str, event: Any) -> tuple[str, str]:
    if isinstance(event, dict) and "instanceId" in event:
        return "poll", f"instance {event['instanceId']} (invoked)"
    return "invoke", f"{spec_name} (invoked)"


class LambdaEndpoint:
    """A request handler for a LoopbackServer that invokes the template's functions."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Answer one ``Invoke`` request."""
        match = _INVOKE.match(request.path)
        if match is None or request.method != "POST":
            return _error(404, "ResourceNotFoundException", f"No Lambda API {request.method} {request.path}")
        name = unquote(match["name"])
        spec = self._runtime.resolve(name)
        if spec is None:
            return _error(404, "ResourceNotFoundException", f"Function not found: {name}")
        try:
            event = json.loads(request.body or b"{}")
        except ValueError:
            return _error(400, "InvalidRequestContentException", "Could not parse request body into json")
        kind = request.header("X-Amz-Invocation-Type") or "RequestResponse"
        request_id = [("x-amzn-RequestId", str(uuid.uuid4()))]
        what = _describe(spec.logical_id, event)
        if kind == "DryRun":
            return HttpResponse(204, request_id)
        if kind == "Event":
            self._runtime.invoke_async(spec, event, done=lambda outcome: self._report(what, outcome))
            return HttpResponse(202, request_id)
        if kind != "RequestResponse":
            return _error(400, "InvalidParameterValueException", f"Unknown InvocationType {kind!r}")
        with self._runtime.gate.entered():
            outcome = self._runtime.invoke(spec, event)
        self._report(what, outcome)
        headers = [*request_id, ("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        if not outcome.ok:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        return HttpResponse(200, headers, json.dumps(outcome.payload).encode())

    def _report(self, what: tuple[str, str], outcome: Outcome) -> None:
        kind, text = what
        self._runtime.console.activity(kind, f"{text}: {summary(outcome)}  {outcome.seconds:.1f} s")
