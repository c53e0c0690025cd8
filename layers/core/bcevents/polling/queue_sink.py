"""The production sink: a page's events to the event log and the events queue, watermarks to the table.

A page's events become Cloud Elements notifications (at most ten events each), logged as NEW in
the event log and sent to the events queue, and only then may the pass checkpoint its watermark:
a conditional write fenced by the run's lease token. A page that cannot be handed on (an AWS
error, a body too large to keep) raises PublishFailed: that resource stops, the others go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bcevents import clock
from bcevents.aws import event_log, queues
from bcevents.aws.tables import Storage
from bcevents.compat.envelope import ChangeEvent, InstanceInfo, build_notifications
from bcevents.compat.queued import to_sqs_entry
from bcevents.errors import PublishFailed, ServiceError
from bcevents.polling.watermark import Watermark


@dataclass(frozen=True)
class QueueSink:
    """Notifications to the event log and the events queue; watermarks to the instances table."""

    storage: Storage
    instance: InstanceInfo
    lease_token: int
    #: When the run's lease expires (epoch seconds): no checkpoint after it.
    lease_expires: float | None = None

    def publish(self, resource: str, changes: Sequence[ChangeEvent]) -> None:
        """Log the page's notifications as NEW, then enqueue them (a repeat never moves one back)."""
        notifications = build_notifications(self.instance, resource, changes, clock.now())
        try:
            event_log.record_enqueued(notifications)
            queues.send_entries([to_sqs_entry(n) for n in notifications])
        except ServiceError as exc:
            raise PublishFailed(f"{resource}: {exc}") from exc

    def checkpoint(self, resource: str, watermark: Watermark) -> None:
        """One conditional write, refused once the lease has expired or if a run with a later lease
        wrote the watermark."""
        self.storage.put_watermark(
            self.instance.instance_id,
            resource,
            watermark.to_item(),
            self.lease_token,
            lease_expires=self.lease_expires,
        )
