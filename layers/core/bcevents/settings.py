"""Deployment settings, read from the environment in exactly one place."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Seconds to wait after each failed delivery attempt. Cloud Elements retried 9 times, the x-th
#: retry 2^(2x) seconds after the first failure (4 s, 16 s, ... 262 144 s ~ 73 h); these are the
#: gaps between those offsets, so the last attempt lands ~73 h after the first failure too.
DEFAULT_RETRY_SCHEDULE = (4, 12, 48, 192, 768, 3072, 12288, 49152, 196608)


class Settings(BaseSettings):
    """Every knob of a deployment. Names are the environment variables the template sets."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    instances_table: str = Field(default="bcevents-instances", alias="INSTANCES_TABLE")
    events_table: str = Field(default="bcevents-events", alias="EVENTS_TABLE")
    idempotency_table: str = Field(default="bcevents-idempotency", alias="IDEMPOTENCY_TABLE")
    events_queue_url: str = Field(default="", alias="EVENTS_QUEUE_URL")
    events_dlq_url: str = Field(default="", alias="EVENTS_DLQ_URL")
    schedule_group: str = Field(default="bcevents", alias="SCHEDULE_GROUP")
    scheduler_role_arn: str = Field(default="", alias="SCHEDULER_ROLE_ARN")
    poll_function_arn: str = Field(default="", alias="POLL_FUNCTION_ARN")
    #: Loopback and RFC 1918 store/callback addresses are refused unless this is set (local stack).
    #: Link-local and cloud metadata addresses are refused whatever it says.
    allow_private_networks: bool = Field(default=False, alias="ALLOW_PRIVATE_NETWORKS")
    #: Where OAuth authorization codes are exchanged for tokens (tests point it at the sandbox).
    bigcommerce_login_url: str = Field(default="https://login.bigcommerce.com", alias="BIGCOMMERCE_LOGIN_URL")
    #: Where API-account requests go (``{url}/stores/{hash}/v3/``); OAuth instances get this store URL.
    bigcommerce_api_url: str = Field(default="https://api.bigcommerce.com", alias="BIGCOMMERCE_API_URL")
    #: Seconds between delivery attempts; the message goes to the dead-letter queue after the last.
    # NoDecode: the environment holds "4,12,48", not JSON; the validator below splits it.
    delivery_retry_schedule: Annotated[tuple[int, ...], NoDecode] = Field(
        default=DEFAULT_RETRY_SCHEDULE, alias="DELIVERY_RETRY_SCHEDULE"
    )
    #: Callback timeouts: to connect, and for the whole answer.
    delivery_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, alias="DELIVERY_CONNECT_TIMEOUT_SECONDS"
    )
    delivery_timeout_seconds: float = Field(default=15.0, gt=0, alias="DELIVERY_TIMEOUT_SECONDS")
    event_retention_days: int = Field(default=30, ge=1, alias="EVENT_RETENTION_DAYS")
    #: How long a poll may hold an instance before another run may take it over: a little more
    #: than the poll function's 300 s timeout, so a run that died blocks the next one only briefly.
    poll_lease_seconds: int = Field(default=360, ge=10, alias="POLL_LEASE_SECONDS")
    #: The store's clock minus this is the upper bound of every poll window (records that are
    #: still being written at "now" are picked up by the next run instead).
    poll_settle_seconds: int = Field(default=2, ge=0, alias="POLL_SETTLE_SECONDS")
    #: Serve Swagger UI at GET /docs (the OpenAPI document is always at GET /openapi.json).
    enable_swagger_ui: bool = Field(default=False, alias="ENABLE_SWAGGER_UI")
    store_timeout_seconds: float = Field(default=20.0, gt=0, alias="STORE_TIMEOUT_SECONDS")
    #: A poll whose status did not change (no events, same outcome, same errors) rewrites the
    #: instance's status item only when the stored one is older than this (0: every run).
    poll_status_heartbeat_minutes: int = Field(default=15, ge=0, alias="POLL_STATUS_HEARTBEAT_MINUTES")
    #: Long-poll wait of each receive when the dead-letter queue is scanned for one instance
    #: (short polling may miss messages of a small queue; tests set 0).
    dlq_receive_wait_seconds: int = Field(default=1, ge=0, le=20, alias="DLQ_RECEIVE_WAIT_SECONDS")

    @field_validator("delivery_retry_schedule", mode="before")
    @classmethod
    def _parse_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (cached: the environment of a Lambda does not change)."""
    return Settings()
