"""The table layer (moto, in-process): instances, the lease and its fencing token, watermarks, status."""

from __future__ import annotations

import time

import pytest

from bcevents.aws.tables import get_storage
from bcevents.errors import InstanceChanged, InstanceNotFound, LeaseHeld
from devstack.resources import StackResources

ITEM = {
    "id": "100000000001",
    "org_id": "org-a",
    "created_date": "2026-01-01T00:00:00.000Z",
    "name": "shop",
    "ratio": 0.25,
    "configuration": {"a": 1},
}


def test_an_instance_reads_back_plain_without_its_keys(aws: StackResources) -> None:
    storage = get_storage()

    assert storage.put_new_instance(dict(ITEM))
    assert not storage.put_new_instance(dict(ITEM))  # the id is taken

    stored = {**ITEM, "version": 1}
    assert storage.get_instance(ITEM["id"]) == stored  # floats and ints back as Python numbers
    assert storage.list_instances("org-a") == [stored]
    assert storage.list_instances("org-b") == []


def test_an_instance_is_replaced_only_as_it_was_read(aws: StackResources) -> None:
    storage = get_storage()
    storage.put_new_instance(dict(ITEM))
    read = storage.get_instance(ITEM["id"])
    assert read is not None
    storage.update_instance_fields(ITEM["id"], name="renamed meanwhile")

    with pytest.raises(InstanceChanged):
        storage.replace_instance(dict(read))

    fresh = storage.get_instance(ITEM["id"])
    assert fresh is not None
    storage.replace_instance(fresh)
    assert (storage.get_instance(ITEM["id"]) or {})["version"] == 3


def test_a_replaced_or_updated_instance_must_still_exist(aws: StackResources) -> None:
    storage = get_storage()

    with pytest.raises(InstanceNotFound):
        storage.replace_instance(dict(ITEM))
    with pytest.raises(InstanceNotFound):
        storage.update_instance_fields(ITEM["id"], name="other")


def test_the_lease_is_held_until_released_and_its_token_fences_watermarks(aws: StackResources) -> None:
    storage = get_storage()
    token = storage.acquire_lease("1", "run-a", 60)

    with pytest.raises(LeaseHeld):
        storage.acquire_lease("1", "run-b", 60)
    storage.release_lease("1", "run-b")  # not its lease: a no-op
    with pytest.raises(LeaseHeld):
        storage.acquire_lease("1", "run-b", 60)

    storage.put_watermark("1", "orders", {"updated_at": "2026-01-01T00:00:00+00:00", "seen": {}}, token)
    with pytest.raises(LeaseHeld):
        storage.put_watermark(
            "1", "orders", {"updated_at": "2020-01-01T00:00:00+00:00", "seen": {}}, token - 1
        )
    storage.release_lease("1", "run-a")
    time.sleep(0.002)
    assert storage.acquire_lease("1", "run-b", 60) > token


def test_one_read_gives_the_run_its_instance_lease_status_and_watermarks(aws: StackResources) -> None:
    storage = get_storage()
    storage.put_new_instance(dict(ITEM))
    token = storage.acquire_lease(ITEM["id"], "run-a", 60)
    storage.put_watermark(
        ITEM["id"], "orders", {"updated_at": "2026-01-01T00:00:00+00:00", "seen": {}}, token
    )
    storage.put_status(ITEM["id"], {"recorded_date": "2026-01-01T00:00:00Z"})

    state = storage.read_poll_state(ITEM["id"])

    assert state.instance == {**ITEM, "version": 1}
    assert state.lease is not None
    assert state.lease["owner"] == "run-a"
    assert state.lease_live()
    assert state.status == {"recorded_date": "2026-01-01T00:00:00Z"}
    assert state.watermarks == storage.get_watermarks(ITEM["id"])
    storage.release_lease(ITEM["id"], "run-a")
    assert not storage.read_poll_state(ITEM["id"]).lease_live()  # given back: kept, but expired
    assert storage.read_poll_state("404").instance is None


@pytest.mark.parametrize("leased_before", [False, True], ids=["never-leased", "lease-given-back"])
def test_the_lease_is_taken_only_if_no_run_took_it_since_the_read(
    aws: StackResources, leased_before: bool
) -> None:
    """A run reads the partition, then takes the lease: if another run took and gave back the
    lease in between, the watermarks read may be behind that run's checkpoints, so the lease is
    refused (the run skips) rather than polling from them."""
    storage = get_storage()
    if leased_before:
        storage.acquire_lease("1", "earlier", 60)
        storage.release_lease("1", "earlier")
    state = storage.read_poll_state("1")
    time.sleep(0.002)
    other = storage.acquire_lease("1", "in-between", 60)
    storage.put_watermark("1", "orders", {"updated_at": "2026-01-01T00:00:00+00:00", "seen": {}}, other)
    storage.release_lease("1", "in-between")

    with pytest.raises(LeaseHeld):
        storage.acquire_lease("1", "stale-reader", 60, read=state)
    fresh = storage.read_poll_state("1")
    assert storage.acquire_lease("1", "fresh-reader", 60, read=fresh) > other


def test_a_checkpoint_needs_the_live_lease(aws: StackResources) -> None:
    """#14 item 11: the fence was only the token on the watermark item, so a run that outlived its
    lease could still checkpoint a resource the run that took over had not written yet."""
    storage = get_storage()
    mark = {"updated_at": "2026-01-01T00:00:00+00:00", "seen": {}}
    token = storage.acquire_lease("1", "run-a", 1)
    expires = token / 1000 + 1
    storage.put_watermark("1", "orders", mark, token, lease_expires=expires)
    time.sleep(2.1)  # expired, nobody took over yet

    with pytest.raises(LeaseHeld):
        storage.put_watermark("1", "customers", mark, token, lease_expires=expires)

    newer = storage.acquire_lease("1", "run-b", 60)
    storage.put_watermark("1", "orders", mark, newer, lease_expires=newer / 1000 + 60)
    with pytest.raises(LeaseHeld):  # without its expiry, the token still fences it
        storage.put_watermark("1", "orders", mark, token)
    assert set(storage.get_watermarks("1")) == {"orders"}


def test_deleting_an_instance_removes_everything_it_owns(aws: StackResources) -> None:
    storage = get_storage()
    storage.put_new_instance(dict(ITEM))
    token = storage.acquire_lease(ITEM["id"], "run", 60)
    storage.put_watermark(
        ITEM["id"], "orders", {"updated_at": "2026-01-01T00:00:00+00:00", "seen": {}}, token
    )
    storage.put_status(ITEM["id"], {"recorded_date": "2026-01-01T00:00:00Z"})

    storage.delete_instance(ITEM["id"])

    assert storage.get_instance(ITEM["id"]) is None
    assert storage.get_watermarks(ITEM["id"]) == {}
    assert storage.get_status(ITEM["id"]) is None
