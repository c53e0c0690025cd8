"""The local stack's smaller parts: the template read as functions, proxy events, signatures, settings, workers."""

from __future__ import annotations

import base64
import gc
import hashlib
import hmac
import json
import textwrap
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook
from werkzeug.test import Client

from callbacks import CallbackReceiver, notification_events, verify_elements, verify_standard
from devstack.apigw import ApiBridge, find_route, http_response, proxy_event
from devstack.config import LocalSettings, SettingError
from devstack.functions import ApiRoute, Deployment, FunctionSpec, load_model, parameter_values
from devstack.httpserver import HttpRequest
from devstack.resources import load_template
from devstack.runtime import FunctionPool, Gate
from devstack.stack import Stack, next_snapshot_in
from devstack.workers import Environment, new_drain_deadline
from tests.support.api import load_event

DEPLOYMENT = Deployment(
    refs={
        "InstancesTable": "bcevents-InstancesTable",
        "EventsTable": "bcevents-EventsTable",
        "IdempotencyTable": "bcevents-IdempotencyTable",
        "EventsQueue": "http://127.0.0.1:5000/123456789012/bcevents-EventsQueue",
        "EventsDeadLetterQueue": "http://127.0.0.1:5000/123456789012/bcevents-EventsDeadLetterQueue",
        "PollSchedules": "bcevents-polls",
    },
    arns={"EventsQueue": "arn:aws:sqs:us-east-1:123456789012:bcevents-EventsQueue"},
    parameters=parameter_values({"DELIVERY_RETRY_SCHEDULE": "1,2"}, {"AllowPrivateNetworks": "true"}),
)


# --- the template, read ------------------------------------------------------------------------
def test_the_functions_environment_is_the_templates_with_local_names() -> None:
    model = load_model(DEPLOYMENT)
    api = model.functions["ApiFunction"].environment
    poll = model.functions["PollFunction"]

    assert api["POLL_FUNCTION_ARN"] == "arn:aws:lambda:us-east-1:123456789012:function:bcevents-PollFunction"
    assert api["SCHEDULER_ROLE_ARN"] == "arn:aws:iam::123456789012:role/bcevents-SchedulerRole"
    assert poll.environment["EVENTS_QUEUE_URL"].endswith("/bcevents-EventsQueue")
    assert poll.environment["SCHEDULE_GROUP"] == "bcevents-polls"
    assert poll.environment["DELIVERY_RETRY_SCHEDULE"] == "1,2"
    assert poll.environment["ALLOW_PRIVATE_NETWORKS"] == "true"
    assert poll.environment["EVENT_RETENTION_DAYS"] == "30"
    assert poll.environment["POWERTOOLS_SERVICE_NAME"] == DEPLOYMENT.stack_name
    assert (poll.module, poll.attribute, poll.timeout, poll.memory) == (
        "poll_handler",
        "lambda_handler",
        300,
        256,
    )
    assert poll.layer_dirs[0].name == "core"


def test_alarms_and_dashboard_read_this_stacks_metrics_only() -> None:
    """Metrics carry service = the stack's name (POWERTOOLS_SERVICE_NAME); every alarm and
    dashboard widget on the custom namespace filters on it, so stacks sharing an account don't mix."""
    template = load_template()
    stack_name = {"Ref": "AWS::StackName"}
    service = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    metric_specs = [
        spec
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        for spec in [
            resource["Properties"],
            *(
                query.get("MetricStat", {}).get("Metric", {})
                for query in resource["Properties"].get("Metrics", [])
            ),
        ]
        if spec.get("Namespace") == "BigCommerceEvents"
    ]
    dashboard = next(
        r["Properties"]["DashboardBody"]["Fn::Sub"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    )

    assert service == stack_name
    assert len(metric_specs) >= 4
    assert all(spec["Dimensions"] == [{"Name": "service", "Value": stack_name}] for spec in metric_specs)
    assert dashboard.count('"BigCommerceEvents"') == dashboard.count('"service", "${AWS::StackName}"') > 0
    assert dashboard.count("SEARCH(") == dashboard.count('service=\\"${AWS::StackName}\\"') > 0


def test_routes_and_queue_triggers_come_from_the_functions_events() -> None:
    model = load_model(DEPLOYMENT)

    assert ApiRoute("POST", "/instances/{instance_id}/events/poll", "ApiFunction") in model.routes
    assert ApiRoute("GET", "/instances", "ApiFunction") in model.routes
    (trigger,) = model.triggers
    assert (trigger.function, trigger.queue, trigger.batch_size) == ("DeliverFunction", "EventsQueue", 10)
    assert trigger.window_seconds == 1
    assert trigger.report_failures
    assert model.stage == "v1"


@pytest.mark.parametrize(
    "name",
    [
        "arn:aws:lambda:us-east-1:123456789012:function:bcevents-PollFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:bcevents-PollFunction:$LATEST",
        "bcevents-PollFunction",
        "PollFunction",
    ],
)
def test_a_function_name_arn_or_logical_id_finds_the_function(name: str) -> None:
    spec = load_model(DEPLOYMENT).function_for(name)

    assert spec is not None
    assert spec.logical_id == "PollFunction"


def test_an_unknown_function_name_finds_nothing() -> None:
    assert load_model(DEPLOYMENT).function_for("arn:aws:lambda:us-east-1:1:function:Other") is None


def test_intrinsics_resolve_like_cloudformation() -> None:
    resources = {"PollFunction": {"Type": "AWS::Serverless::Function"}}

    assert DEPLOYMENT.resolve({"Fn::Sub": "${AWS::StackName}-polls"}, resources) == "bcevents-polls"
    assert DEPLOYMENT.resolve({"Fn::Sub": "${EventsQueue.Arn}"}, resources).startswith("arn:aws:sqs:")
    assert (
        DEPLOYMENT.resolve({"Fn::GetAtt": ["EventsQueue", "QueueName"]}, resources) == "bcevents-EventsQueue"
    )
    assert DEPLOYMENT.resolve({"Ref": "PollFunction"}, resources) == "bcevents-PollFunction"
    assert DEPLOYMENT.resolve(True, resources) == "true"
    with pytest.raises(ValueError, match="cannot resolve"):
        DEPLOYMENT.resolve({"Fn::ImportValue": "x"}, resources)


def test_template_parameters_come_from_the_variable_that_carries_them() -> None:
    values = parameter_values({"POWERTOOLS_LOG_LEVEL": "DEBUG"}, {"AllowPrivateNetworks": "true"})

    assert values["LogLevel"] == "DEBUG"
    assert values["AllowPrivateNetworks"] == "true"
    assert values["DeliveryRetrySchedule"] == "4,12,48,192,768,3072,12288,49152,196608"


# --- the API bridge ------------------------------------------------------------------------------
def _request(
    method: str = "GET", path: str = "/instances/123", query: str = "", body: bytes = b""
) -> HttpRequest:
    headers = [("Authorization", "User a, Organization b"), ("X-Multi", "1"), ("X-Multi", "2")]
    return HttpRequest(method, path, query, headers, body, "127.0.0.1")


def test_a_literal_route_wins_over_a_path_parameter() -> None:
    routes = [ApiRoute("GET", "/instances/{instance_id}", "F"), ApiRoute("GET", "/instances/mine", "G")]

    assert find_route(routes, "GET", "/instances/mine") == (routes[1], {})
    assert find_route(routes, "GET", "/instances/7") == (routes[0], {"instance_id": "7"})
    assert find_route(routes, "POST", "/instances/7") is None


class _NoRuntime:
    """A runtime the bridge must not reach: API Gateway refuses an unknown route itself."""

    def invoke(self, *args: object) -> None:
        raise AssertionError("a request without a route reached a function")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("TRACE", "/instances"),  # #14: the local API answered 501 with an HTML page
        ("OPTIONS", "/instances"),
        ("HEAD", "/instances"),
        ("CONNECT", "/instances/1"),
        ("FOO", "/instances/1"),
        ("PATCH", "/instances"),  # a method of another resource
        ("POST", "/instances/1/status"),
        ("GET", "/"),
        ("GET", "/instances/"),
        ("GET", "/instances/1/nothing"),
        ("DELETE", "/openapi.json"),
    ],
)
def test_a_method_or_path_no_route_declares_is_api_gateways_403(method: str, path: str) -> None:
    bridge = ApiBridge(_NoRuntime(), load_model(DEPLOYMENT))  # type: ignore[arg-type]
    anonymous = HttpRequest(method, path, "", [("Content-Type", "text/plain")], b"x", "127.0.0.1")

    without = bridge(anonymous)
    with_credentials = bridge(_request(method, path))

    assert without.status == with_credentials.status == 403
    assert json.loads(without.body) == {"message": "Missing Authentication Token"}
    assert ("x-amzn-ErrorType", "MissingAuthenticationTokenException") in without.headers
    # With an Authorization header API Gateway reads it as a SigV4 signature, and says why it is not one.
    assert json.loads(with_credentials.body) == {
        "message": "'a' not a valid key=value pair (missing equal-sign) in Authorization header: "
        "'User a, Organization b'."
    }
    assert ("x-amzn-ErrorType", "IncompleteSignatureException") in with_credentials.headers


def test_the_proxy_event_has_the_shape_of_the_sample_event() -> None:
    sample = load_event("api_get_instance.json")
    route = ApiRoute("GET", "/instances/{instance_id}", "ApiFunction")

    event = proxy_event(_request(query="a=1&a=2&b="), route, {"instance_id": "123"}, "v1")

    assert set(event) == set(sample)
    assert set(sample["requestContext"]) <= set(event["requestContext"])
    assert event["resource"] == "/instances/{instance_id}"
    assert event["pathParameters"] == {"instance_id": "123"}
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["requestContext"]["path"] == "/v1/instances/123"
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_a_binary_body_is_base64_encoded() -> None:
    route = ApiRoute("POST", "/instances", "ApiFunction")

    event = proxy_event(_request("POST", "/instances", body=b"\xff\x00"), route, {}, "v1")

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00"


def test_the_functions_response_goes_back_unchanged() -> None:
    response = http_response(
        {
            "statusCode": 201,
            "headers": {"X-One": "a"},
            "multiValueHeaders": {"Set-Cookie": ["x=1", "y=2"]},
            "body": base64.b64encode(b"raw").decode(),
            "isBase64Encoded": True,
        }
    )

    assert response is not None
    assert response.status == 201
    assert response.headers == [("X-One", "a"), ("Set-Cookie", "x=1"), ("Set-Cookie", "y=2")]
    assert response.body == b"raw"


@pytest.mark.parametrize("result", [None, {}, {"statusCode": "200"}, ["statusCode"]])
def test_a_result_that_is_no_proxy_response_is_refused(result: object) -> None:
    assert http_response(result) is None


# --- the callback receiver's checks ----------------------------------------------------------
def _signed(secret: str, body: bytes) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign("msg_1", now, body.decode()),
    }


def test_standard_webhooks_signatures_are_checked() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    other = "whsec_" + base64.b64encode(b"o" * 24).decode()
    headers = _signed(secret, b"{}")

    assert verify_standard(secret, b"{}", headers) is True
    assert verify_standard(other, b"{}", headers) is False
    assert verify_standard(secret, b"{}", {}) is False
    assert verify_standard(None, b"{}", headers) is None


def test_elements_signatures_are_checked() -> None:
    good = "sha256=" + base64.b64encode(hmac.new(b"key", b"{}", hashlib.sha256).digest()).decode()

    assert verify_elements("key", b"{}", {"Elements-Webhook-Signature": good}) is True
    assert verify_elements("other", b"{}", {"Elements-Webhook-Signature": good}) is False
    assert verify_elements("key", b"{}", {}) is False
    assert verify_elements(None, b"{}", {}) is None


def test_a_notifications_events_are_read_from_its_envelope() -> None:
    body = {
        "message": {
            "instanceId": 42,
            "events": [{"eventType": "CREATED", "objectType": "orders", "objectId": "6"}],
        }
    }

    instance, events = notification_events(body)

    assert instance == "42"
    assert [(e.event_type, e.object_type, e.object_id) for e in events] == [("CREATED", "orders", "6")]
    assert notification_events("not an envelope") == (None, [])


def test_the_receiver_lists_what_it_got_and_fails_when_told() -> None:
    receiver = CallbackReceiver()
    receiver.fail_next(1, 503)
    client = Client(receiver)

    def post() -> int:
        body = b'{"message": {"events": []}}'
        return client.post("/callbacks", data=body, headers=[("webhook-id", "n1")]).status_code

    first, second = post(), post()
    listing = client.get("/callbacks", query_string="since=1").get_json()
    refused = client.put("/callbacks").status_code
    receiver.stop()

    assert (first, second) == (503, 200)
    assert listing["count"] == 2
    assert [d["webhook_id"] for d in listing["deliveries"]] == ["n1"]
    assert refused == 405


# --- settings --------------------------------------------------------------------------------
def test_settings_default_to_the_documented_ports() -> None:
    settings = LocalSettings.from_env({})

    assert (settings.api_port, settings.lambda_port, settings.aws_port, settings.sandbox_port) == (
        3000,
        3001,
        5000,
        8010,
    )
    assert settings.sandbox
    assert settings.minute_seconds == 60
    assert settings.concurrency == 2
    assert settings.user_secret is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOCAL_API_PORT", "http"),
        ("LOCAL_AWS_PORT", "70000"),
        ("LOCAL_SANDBOX", "maybe"),
        ("LOCAL_MINUTE_SECONDS", "0"),
        ("LOCAL_MINUTE_SECONDS", "soon"),
        ("LOCAL_CONCURRENCY", "0"),
        ("LOCAL_CONCURRENCY", "many"),
        ("LOCAL_CONCURRENCY", "65"),
    ],
)
def test_a_bad_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingError, match=name):
        LocalSettings.from_env({name: value})


def test_a_program_started_stack_takes_free_ports_and_keeps_the_rest() -> None:
    settings = LocalSettings.from_env({"LOCAL_SANDBOX": "0", "LOCAL_MINUTE_SECONDS": "5"}).on_free_ports(
        concurrency=3
    )

    ports = (settings.api_port, settings.lambda_port, settings.aws_port, settings.sandbox_port)
    assert ports == (0, 0, 0, 0)
    assert settings.callback_port == 0
    assert settings.sandbox is True
    assert (settings.minute_seconds, settings.concurrency) == (5, 3)


def test_more_execution_environments_per_function_can_be_asked_for() -> None:
    assert LocalSettings.from_env({"LOCAL_CONCURRENCY": "6"}).concurrency == 6


@pytest.mark.parametrize(
    ("took", "wait"),
    [
        (0.2, 30.0),  # a quick snapshot: the interval
        (1.5, 75.0),  # too busy to pause in time: holding back 1.5 s is 1/50 of 75 s
        (4.0, 200.0),  # a slow one (a large state)
    ],
)
def test_snapshots_hold_work_back_for_a_small_share_of_the_time(took: float, wait: float) -> None:
    assert next_snapshot_in(30.0, took) == wait


def test_a_stack_that_freezes_the_collector_after_snapshots_unfreezes_it_when_it_stops(
    tmp_path: Path,
) -> None:
    """``freeze_gc``: after each periodic snapshot what is alive leaves the collector's full
    passes; stopping hands it back (a process hosting a stack for a while keeps a normal heap)."""
    stack = Stack(LocalSettings.from_env({}).on_free_ports(state_dir=tmp_path), freeze_gc=True)
    stack.snapshot_seconds = 0.1
    stack._snapshotter = threading.Thread(target=stack._snapshot_loop, daemon=True)
    stack._snapshotter.start()
    deadline = time.monotonic() + 10
    while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    frozen = gc.get_freeze_count()

    stack.stop(save=False)

    assert frozen > 0
    assert gc.get_freeze_count() == 0


def test_the_sandbox_can_be_left_out() -> None:
    assert LocalSettings.from_env({"LOCAL_SANDBOX": "0"}).sandbox is False


# --- the gate and the workers ----------------------------------------------------------------
def test_a_closed_gate_waits_for_running_work_and_holds_new_work() -> None:
    gate = Gate()
    leave = gate.enter()
    entered = threading.Event()

    with gate.closed(timeout=0.05) as quiet:
        assert not quiet
    leave()
    with gate.closed(timeout=1) as quiet:
        late = threading.Thread(target=lambda: (gate.enter()(), entered.set()))
        late.start()
        assert quiet
        assert not entered.wait(0.1)
    late.join(2)

    assert entered.is_set()
    assert gate.idle


def _spec(tmp_path: Path, source: str, timeout: int = 5) -> FunctionSpec:
    (tmp_path / "stub_handler.py").write_text(textwrap.dedent(source))
    return FunctionSpec(
        logical_id="Stub",
        name="bcevents-Stub",
        arn="arn:aws:lambda:us-east-1:123456789012:function:bcevents-Stub",
        handler="stub_handler.handler",
        code_dir=tmp_path,
        layer_dirs=(),
        timeout=timeout,
        memory=128,
        environment={"STUB_SETTING": "from the template"},
    )


def test_environments_go_to_waiting_invocations_first_come_first_served(tmp_path: Path) -> None:
    """A released environment goes to the longest-waiting invocation, not to one arriving now."""
    pool = FunctionPool(
        _spec(tmp_path, "def handler(event, context):\n    return event\n"),
        1,
        tmp_path / "log",
        new_drain_deadline(),
    )
    order: list[str] = []
    try:
        env = pool._acquire()  # the pool's only environment, held while three invocations line up

        def invocation(name: str) -> None:
            got = pool._acquire()
            order.append(name)
            pool._release(got)

        waiting = []
        for n in range(1, 4):
            thread = threading.Thread(target=invocation, args=(f"waiting {n}",))
            thread.start()
            waiting.append(thread)
            deadline = time.monotonic() + 10
            while len(pool._waiting) < n and time.monotonic() < deadline:  # in line before the next
                time.sleep(0.01)
        pool._release(env)
        invocation("arriving")  # a newcomer that would take the idle environment if it could
        for thread in waiting:
            thread.join(10)
    finally:
        pool.close(kill_busy=True)

    assert order == ["waiting 1", "waiting 2", "waiting 3", "arriving"]


def test_a_worker_runs_the_handler_with_its_environment_and_a_lambda_context(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        """
        import os
        def handler(event, context):
            if event.get("fail"):
                raise ValueError("asked to fail")
            return {"echo": event, "setting": os.environ["STUB_SETTING"],
                    "name": context.function_name, "left": context.get_remaining_time_in_millis()}
        """,
    )
    env = Environment(spec, tmp_path / "functions.log", new_drain_deadline())
    try:
        ok = env.invoke({"a": 1})
        failed = env.invoke({"fail": True})
    finally:
        env.close()

    assert ok.ok
    assert ok.payload["echo"] == {"a": 1}
    assert ok.payload["setting"] == "from the template"
    assert ok.payload["name"] == "bcevents-Stub"
    assert 0 < ok.payload["left"] <= 5000
    assert not failed.ok
    assert failed.error == "ValueError: asked to fail"


def test_a_worker_that_overruns_its_timeout_is_stopped(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "import time\ndef handler(event, context):\n    time.sleep(30)\n", timeout=1)
    env = Environment(spec, tmp_path / "functions.log", new_drain_deadline())

    outcome = env.invoke({})

    assert outcome.payload["errorType"] == "Sandbox.Timedout"
    assert not env.alive


def test_a_handler_that_cannot_be_imported_fails_every_invocation(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "raise RuntimeError('broken at import')\n")
    env = Environment(spec, tmp_path / "functions.log", new_drain_deadline())
    try:
        outcome = env.invoke({})
    finally:
        env.close()

    assert outcome.payload["errorType"] == "Runtime.ImportModuleError"
    assert "broken at import" in outcome.payload["errorMessage"]
