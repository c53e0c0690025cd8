"""Create the template's tables, queues and schedule group in an AWS emulator.

The definitions exist once, in ``template.yaml``; this reads them (CloudFormation's short
intrinsic tags included) so tests and the local stack never hand-copy a key schema.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with ``!Ref``, ``!GetAtt``, ``!Sub``... read as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM template as plain data."""
    with path.open() as handle:
        # _CfnLoader is a SafeLoader subclass: it builds no arbitrary objects (ruff S506, bandit B506).
        data: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506  # nosec B506
    return data


@dataclass(frozen=True)
class StackResources:
    """Physical names of what :func:`create_resources` made, as the functions' environment wants them."""

    instances_table: str
    events_table: str
    idempotency_table: str
    events_queue_url: str
    events_dlq_url: str
    schedule_group: str

    def environment(self) -> dict[str, str]:
        """The environment variables the template would give the functions."""
        return {
            "INSTANCES_TABLE": self.instances_table,
            "EVENTS_TABLE": self.events_table,
            "IDEMPOTENCY_TABLE": self.idempotency_table,
            "EVENTS_QUEUE_URL": self.events_queue_url,
            "EVENTS_DLQ_URL": self.events_dlq_url,
            "SCHEDULE_GROUP": self.schedule_group,
        }

    def refs(self) -> dict[str, str]:
        """What ``!Ref <logical id>`` of each created resource gives in CloudFormation (name or URL)."""
        return {
            "InstancesTable": self.instances_table,
            "EventsTable": self.events_table,
            "IdempotencyTable": self.idempotency_table,
            "EventsQueue": self.events_queue_url,
            "EventsDeadLetterQueue": self.events_dlq_url,
            "PollSchedules": self.schedule_group,
        }


def create_resources(
    session: boto3.session.Session, prefix: str = "bcevents", *, endpoint_url: str | None = None
) -> StackResources:
    """Create every table, queue and the schedule group of the template; idempotent.

    ``endpoint_url`` points the clients at an emulator (the local stack's moto server); without it
    they go wherever the session's configuration says (``mock_aws`` in tests).
    """
    resources = load_template()["Resources"]
    names = {
        logical: f"{prefix}-{logical}"
        for logical, spec in resources.items()
        if spec["Type"] in ("AWS::DynamoDB::Table", "AWS::SQS::Queue")
    }
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    existing = set(dynamodb.list_tables()["TableNames"])
    for logical, spec in resources.items():
        if spec["Type"] == "AWS::DynamoDB::Table" and names[logical] not in existing:
            _create_table(dynamodb, names[logical], spec["Properties"])
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    urls: dict[str, str] = {}
    # Dead-letter queues first: the others name them in their redrive policy.
    queues = sorted(
        (item for item in resources.items() if item[1]["Type"] == "AWS::SQS::Queue"),
        key=lambda item: "RedrivePolicy" in item[1].get("Properties", {}),
    )
    for logical, spec in queues:
        urls[logical] = _create_queue(sqs, names[logical], spec.get("Properties", {}), urls)
    scheduler = session.client("scheduler", endpoint_url=endpoint_url)
    group = f"{prefix}-polls"
    with contextlib.suppress(scheduler.exceptions.ConflictException):
        scheduler.create_schedule_group(Name=group)
    return StackResources(
        instances_table=names["InstancesTable"],
        events_table=names["EventsTable"],
        idempotency_table=names["IdempotencyTable"],
        events_queue_url=urls["EventsQueue"],
        events_dlq_url=urls["EventsDeadLetterQueue"],
        schedule_group=group,
    )


def _create_table(client: Any, name: str, props: dict[str, Any]) -> None:
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
    }
    if "GlobalSecondaryIndexes" in props:
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    client.create_table(**request)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def _create_queue(client: Any, name: str, props: dict[str, Any], urls: dict[str, str]) -> str:
    attributes: dict[str, str] = {
        key: str(props[key])
        for key in ("MessageRetentionPeriod", "VisibilityTimeout", "DelaySeconds", "MaximumMessageSize")
        if key in props
    }
    redrive = props.get("RedrivePolicy")
    if redrive:
        target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        arn = client.get_queue_attributes(QueueUrl=urls[target], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": arn, "maxReceiveCount": str(redrive["maxReceiveCount"])}
        )
    url: str = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url
