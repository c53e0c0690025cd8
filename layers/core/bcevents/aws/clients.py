"""One boto3 session per process and one cached client (or resource) per AWS service.

Clients are built lazily (no import-time AWS calls) and reused across invocations; endpoints
come from the standard ``AWS_ENDPOINT_URL_*`` variables, which the local stack sets.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sqs import SQSClient


@lru_cache(maxsize=1)
def session() -> boto3.session.Session:
    """The process's session (a default-session client would re-read the environment each time)."""
    return boto3.session.Session()


@lru_cache(maxsize=1)
def dynamodb() -> DynamoDBServiceResource:
    """The DynamoDB resource (its tables take and return plain Python values)."""
    return session().resource("dynamodb")


@lru_cache(maxsize=1)
def sqs() -> SQSClient:
    """The SQS client: the events queue and its dead-letter queue."""
    return session().client("sqs")


@lru_cache(maxsize=1)
def scheduler() -> EventBridgeSchedulerClient:
    """The EventBridge Scheduler client: one schedule per events-enabled instance."""
    return session().client("scheduler")


@lru_cache(maxsize=1)
def lambda_() -> LambdaClient:
    """The Lambda client: a poll started now is an asynchronous invocation."""
    return session().client("lambda")
