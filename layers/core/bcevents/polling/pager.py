"""The pager: every resource of an instance, each paged with the strategy its endpoint allows.

Per resource, a pass (``polling.window``) covers the window from the watermark to the store's
clock; :func:`page_resource` picks the strategy (``polling.strategies``): a date keyset where the
endpoint sorts by date, else a pinned window paged by id or page number. Pages of events go to a
sink; the pager does no AWS I/O itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bcevents import clock
from bcevents.bigcommerce.planner import UnsupportedResource
from bcevents.compat.ceql import UnsupportedQuery
from bcevents.compat.configuration import InstanceConfiguration
from bcevents.errors import PublishFailed, StoreRequestFailed, StoreUnavailable
from bcevents.observability import logger
from bcevents.polling.report import ResourceReport
from bcevents.polling.sink import Sink
from bcevents.polling.strategies import DateKeyset, PinnedWindow
from bcevents.polling.window import ResourcePass, Store


def poll_resources(
    store: Store,
    sink: Sink,
    config: InstanceConfiguration,
    watermarks: Mapping[str, dict[str, Any]],
    *,
    created_at: datetime,
    reports: list[ResourceReport],
    starts: Mapping[str, datetime] | None = None,
) -> None:
    """Poll every resource of the instance into ``reports``; a resource the store refuses does
    not stop the others (OutOfTime does: the next run resumes). A resource without a watermark
    starts when it was added (``starts``), else when the instance was created."""
    for name, resource in config.poller_resources().items():
        report = ResourceReport(name, started_at=clock.now().isoformat())
        reports.append(report)
        before = store.client.requests_made
        try:
            page_resource(
                ResourcePass(
                    store,
                    sink,
                    name,
                    resource,
                    watermarks.get(name),
                    report,
                    created_at=(starts or {}).get(name, created_at),
                )
            )
        except (StoreRequestFailed, StoreUnavailable, PublishFailed) as exc:
            report.error = str(exc)
            logger.warning("resource poll failed", extra={"resource": name, "error": str(exc)})
        except (UnsupportedResource, UnsupportedQuery) as exc:
            # A URL stored before a rule that now refuses it (a raw URL's own limit=): this
            # resource waits for its URL to be changed; the others are polled.
            report.error = f"its url is no longer accepted, change it: {exc}"
            logger.warning("resource url refused", extra={"resource": name, "error": str(exc)})
        finally:
            report.requests = store.client.requests_made - before
            report.finished_at = clock.now().isoformat()


def page_resource(p: ResourcePass) -> None:
    """Page through one resource's window with its endpoint's strategy, checkpointing every page."""
    if p.settled:
        p.report.polled_through = p.watermark.updated_at.isoformat()
        return
    if p.plan.sorted_by_date and not p.plan.raw:
        DateKeyset(p).run()
    else:
        PinnedWindow(p).run()
    p.report.complete = True
