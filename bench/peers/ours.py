"""(b) Our poller's extraction: store → change events built into notifications, before SQS.

The real pager (``bcevents.polling.pager.poll_resources`` with the BigCommerce client, keyset paging,
classification and notification building, SQS entries included) with a sink that keeps the ids
in this process: no event-log write, no SendMessageBatch, no watermark write.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import _peer


def main() -> None:
    args = _peer.arguments()
    os.environ.setdefault("ALLOW_PRIVATE_NETWORKS", "true")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bigcommerce-events")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "BigCommerceEvents")
    from bcevents.bigcommerce import endpoints
    from bcevents.bigcommerce.client import BigCommerceClient, store_auth
    from bcevents.compat.configuration import DEFAULT_POLLER_CONFIGURATION, InstanceConfiguration
    from bcevents.compat.envelope import ChangeEvent, InstanceInfo, build_notifications
    from bcevents.compat.queued import to_sqs_entry
    from bcevents.polling import pager
    from bcevents.polling.report import ResourceReport
    from bcevents.polling.window import Store

    emitted: list[str] = []
    instance = InstanceInfo(instance_id="1", name="bench", tags=[], org_id="org", user_id="user")

    class KeepIds:
        """The sink: notifications and their SQS entries built as in production, then kept here."""

        def publish(self, resource: str, changes: Sequence[ChangeEvent]) -> None:
            for n in build_notifications(instance, resource, changes, datetime.now(UTC)):
                to_sqs_entry(n)
                emitted.extend(n.object_ids)

        def checkpoint(self, resource: str, watermark: Any) -> None:
            return None

    config = InstanceConfiguration.model_validate(
        {
            "username": args.username,
            "password": args.password,
            "store.url": f"{args.base_url}/api/v2",
            "event.poller.configuration": {"orders": DEFAULT_POLLER_CONFIGURATION["orders"]},
        }
    )

    def extract() -> Iterator[str]:
        base = endpoints.store_base_urls(config.store_url or "")
        client = BigCommerceClient(store_auth(config))
        store = Store(client=client, base=base, now=datetime.now(UTC), remaining_seconds=lambda: 900.0)
        store.now = client.store_time(base.v2_root)
        reports: list[ResourceReport] = []
        pager.poll_resources(
            store, KeepIds(), config, {}, created_at=datetime.fromisoformat(args.since), reports=reports
        )
        client.close()
        yield from emitted

    _peer.measure(extract, client="bcevents poller (no AWS sinks)")


if __name__ == "__main__":
    main()
