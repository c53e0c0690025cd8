"""How polls are triggered: one EventBridge Scheduler schedule per events-enabled instance, or now."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from bcevents.aws import clients
from bcevents.settings import get_settings


def schedule_name(instance_id: str) -> str:
    """The name of an instance's schedule in the deployment's schedule group."""
    return f"instance-{instance_id}"


def rate_expression(minutes: int) -> str:
    """``rate(N minutes)``; EventBridge wants the singular for one."""
    return "rate(1 minute)" if minutes == 1 else f"rate({minutes} minutes)"


def put_schedule(instance_id: str, minutes: int) -> None:
    """Create or update the instance's schedule: every ``minutes``, the poll function gets its id."""
    settings = get_settings()
    request = {
        "Name": schedule_name(instance_id),
        "GroupName": settings.schedule_group,
        "ScheduleExpression": rate_expression(minutes),
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": settings.poll_function_arn,
            "RoleArn": settings.scheduler_role_arn,
            "Input": json.dumps({"instanceId": instance_id}),
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 300},
        },
        "Description": f"Polls BigCommerce for instance {instance_id}",
    }
    client = clients.scheduler()
    try:
        client.create_schedule(**request)  # type: ignore[arg-type]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConflictException":
            raise
        client.update_schedule(**request)  # type: ignore[arg-type]


def delete_schedule(instance_id: str) -> None:
    """Remove the instance's schedule if it has one."""
    try:
        clients.scheduler().delete_schedule(
            Name=schedule_name(instance_id), GroupName=get_settings().schedule_group
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


def sync_schedule(instance_id: str, *, events_enabled: bool, minutes: int | None) -> None:
    """Make the schedule match the instance: present with its rate iff events are enabled."""
    if events_enabled and minutes:
        put_schedule(instance_id, minutes)
    else:
        delete_schedule(instance_id)


def trigger_poll(instance_id: str) -> None:
    """Poll an instance now: an asynchronous invocation of the poll function, as a schedule would."""
    clients.lambda_().invoke(
        FunctionName=get_settings().poll_function_arn,
        InvocationType="Event",
        Payload=json.dumps({"instanceId": instance_id}).encode(),
    )
