"""The poll function: an EventBridge Scheduler (or "poll now") event names one instance to poll."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from bcevents.observability import logger, metrics, tracer
from bcevents.polling.run import poll_instance


class PollRequest(BaseModel):
    """``{"instanceId": "..."}``, the schedule's input."""

    model_config = ConfigDict(populate_by_name=True)

    instance_id: str = Field(alias="instanceId", min_length=1, pattern=r"^[0-9]+$")


@logger.inject_lambda_context(correlation_id_path="instanceId", log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = PollRequest.model_validate(event)
    outcome = poll_instance(
        request.instance_id,
        lease_owner=context.aws_request_id,
        remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
    )
    return asdict(outcome)
