"""(b) Our poller's extraction: store → change events built into notifications, before SQS.

The real poller (``bcevents.poller.poll_resources`` with the BigCommerce client, keyset paging,
classification and notification building, SQS entries included) with the three AWS sinks replaced
by no-ops in this process: no event-log write, no SendMessageBatch, no watermark write.
"""

from __future__ import annotations

import os
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import _peer

RFC2822 = "EEE, dd MMM yyyy HH:mm:ss Z"


class _NoStorage:
    """The storage the poller sees: no watermark yet, checkpoints dropped."""

    def get_watermarks(self, instance_id: str) -> dict[str, Any]:
        return {}

    def put_watermark(self, *args: Any, **kwargs: Any) -> None:
        return None


def main() -> None:
    args = _peer.arguments()
    os.environ.setdefault("ALLOW_PRIVATE_NETWORKS", "true")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bigcommerce-events")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "BigCommerceEvents")
    from bcevents import hub, poller
    from bcevents.bigcommerce import BigCommerceClient
    from bcevents.configuration import InstanceConfiguration
    from bcevents.envelope import InstanceInfo
    from bcevents.instances import store_auth

    emitted: list[str] = []
    build = getattr(poller, "build_notifications")  # noqa: B009 - replaced below, as a module attribute

    def keep_ids(*a: Any, **kw: Any) -> Any:
        notifications = build(*a, **kw)
        for n in notifications:
            emitted.extend(n.object_ids)
        return notifications

    # The three AWS sinks of a page, as the poller module sees them.
    setattr(poller, "build_notifications", keep_ids)  # noqa: B010
    setattr(poller, "send_entries", lambda entries, queue_url=None: None)  # noqa: B010
    setattr(poller, "eventlog", types.SimpleNamespace(record_enqueued=lambda notifications: None))  # noqa: B010
    config = InstanceConfiguration.model_validate(
        {
            "username": args.username,
            "password": args.password,
            "store.url": f"{args.base_url}/api/v2",
            "event.poller.configuration": {
                "orders": {
                    "url": f"/hubs/ecommerce/orders?where=min_date_modified='${{date:{RFC2822}}}'",
                    "idField": "id",
                    "datesConfiguration": {
                        "updatedDateField": "date_modified",
                        "updatedDateFormat": RFC2822,
                        "createdDateField": "date_created",
                        "createdDateFormat": RFC2822,
                    },
                }
            },
        }
    )

    def extract() -> Iterator[str]:
        base = hub.store_base_urls(config.store_url or "")
        client = BigCommerceClient(store_auth(config))
        ctx = poller.PollContext(
            instance_id="1",
            instance=InstanceInfo(instance_id="1", name="bench", tags=[], org_id="org", user_id="user"),
            kind=base.kind,
            base=base,
            client=client,
            storage=_NoStorage(),  # type: ignore[arg-type]
            lease_owner="bench",
            lease_token=0,
            store_now=datetime.now(UTC),
            remaining_seconds=lambda: 900.0,
            created_at=datetime.fromisoformat(args.since),
        )
        ctx.store_now = client.store_time(base.v2_root)
        poller.poll_resources(ctx, config)
        client.close()
        yield from emitted

    _peer.measure(extract, client="bcevents poller (no AWS sinks)")


if __name__ == "__main__":
    main()
