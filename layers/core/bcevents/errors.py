"""Typed exceptions of the core. The api handler maps them to HTTP in one place."""

from __future__ import annotations

from dataclasses import dataclass


class ServiceError(Exception):
    """Base of every error the service raises on purpose."""


@dataclass(frozen=True)
class FieldProblem:
    """One offending input key and why it is refused."""

    key: str
    reason: str


class InvalidConfiguration(ServiceError):
    """The instance body (or a part of it) cannot be accepted; names each offending key."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.key}: {p.reason}" for p in problems))
        self.problems = problems


class Unauthorized(ServiceError):
    """Missing, malformed or unknown ``Authorization`` credentials."""


class InstanceNotFound(ServiceError):
    """No instance with that id in the caller's organization (another org's is "not found" too)."""


class StoreRejectedCredentials(ServiceError):
    """The BigCommerce store refused the instance's credentials."""


class StoreUnavailable(ServiceError):
    """The BigCommerce store could not be reached or answered with a server error."""


class EgressRefused(ServiceError):
    """An outbound URL points at an address this deployment may not reach."""


class LeaseHeld(ServiceError):
    """Another poll of the same instance holds the lease."""


class StoreRequestFailed(ServiceError):
    """The store refused a request for a reason retrying will not fix (4xx other than auth)."""


class StoreThrottled(ServiceError):
    """The store's rate limit needs a wait longer than the time this run has left."""


class InvalidRequest(ServiceError):
    """A query or body value the service cannot use; names each offending parameter."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.key}: {p.reason}" for p in problems))
        self.problems = problems


class NotificationNotFound(ServiceError):
    """No notification with that id in the instance's event log (or it expired)."""


class NotRedeliverable(ServiceError):
    """The notification's body was not kept (too large), so it cannot be sent again from the log."""


class EventsDisabled(ServiceError):
    """The instance's events are off: a redelivery would be dropped unsent, so none is made."""


class PublishFailed(ServiceError):
    """A page's events could not be handed on (logged and enqueued): that resource stops where its
    last checkpoint is and the run goes on with the others; the next run repeats the page."""


class EnqueueFailed(ServiceError):
    """Some entries could not be sent to a queue; ``unsent`` names them (their Ids)."""

    def __init__(self, message: str, unsent: list[str] | None = None) -> None:
        super().__init__(message)
        self.unsent = unsent or []


class CreationInProgress(ServiceError):
    """An earlier request with this Idempotency-Key is still creating its instance."""


class IdempotencyKeyReused(ServiceError):
    """This Idempotency-Key was used with another request body."""


class InstanceChanged(ServiceError):
    """The instance was changed by another request since it was read (its version moved on)."""
