"""An instance's item and its schedule, kept in step: every write that can turn events on or off.

The api's use cases (create, change, switch events) and delivery (a callback that answered 410)
both end here, so the rule "a schedule exists iff events are enabled" lives in one place.
"""

from __future__ import annotations

from bcevents import clock
from bcevents.aws import schedules
from bcevents.aws.items import Item
from bcevents.aws.tables import get_storage
from bcevents.errors import InstanceChanged
from bcevents.observability import logger


def save(item: Item) -> None:
    """Overwrite an instance as it was read (InstanceChanged if another write came between; a
    concurrent delete wins) and make its schedule match it."""
    get_storage().replace_instance(item)
    sync_schedule(item)


def sync_schedule(item: Item) -> None:
    """Make the instance's schedule match its item: present, at its interval, iff events are enabled."""
    minutes = item["configuration"].get("event.poller.refresh_interval")
    schedules.sync_schedule(item["id"], events_enabled=item["events_enabled"], minutes=minutes)


def switch_events(item: Item, enabled: bool, *, reason: str | None) -> None:
    """Turn an instance's events on or off (the caller validated an instance being enabled)."""
    item["configuration"] = {**item["configuration"], "event.notification.enabled": enabled}
    item["events_enabled"] = enabled
    item["events_disabled_reason"] = None if enabled else reason
    item["updated_date"] = clock.iso_millis(clock.now())
    save(item)
    logger.info(
        "instance events switched", extra={"instance_id": item["id"], "enabled": enabled, "reason": reason}
    )


def disable_events(instance_id: str, reason: str) -> None:
    """Turn events off on the service's own initiative (e.g. the callback answered 410 Gone); a
    write that came between the read and this one (a secret rotated) is read again, not undone."""
    for _ in range(_RACE_RETRIES):
        item = get_storage().get_instance(instance_id)
        if item is None:
            return
        try:
            switch_events(item, False, reason=reason)
        except InstanceChanged:
            continue
        return
    raise InstanceChanged(instance_id)


_RACE_RETRIES = 5
