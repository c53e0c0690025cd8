"""How the demo talks: a few aligned lines per step, one per notification, a verdict at the end."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any, TextIO

from callbacks import Delivery

RFC2822 = "EEE, dd MMM yyyy HH:mm:ss Z"


@dataclass(frozen=True)
class Expectation:
    """An event the demo waits for."""

    object_type: str
    event_type: str
    object_id: str


def seed_resource(name: str) -> dict[str, Any]:
    """One resource of the seed page's second example ("Example JSON with Polling"), verbatim."""
    return {
        "url": f"/hubs/ecommerce/{name}?where=min_date_modified='${{date:{RFC2822}}}'",
        "idField": "id",
        "datesConfiguration": {
            "updatedDateField": "date_modified",
            "updatedDateFormat": RFC2822,
            "createdDateField": "date_created",
            "createdDateFormat": RFC2822,
        },
    }


#: The Cloud Elements page's legacy body; ``legacy_body`` fills its placeholders.
LEGACY_TEMPLATE: dict[str, Any] = {
    "element": {"key": "bigcommerce"},
    "configuration": {
        "username": "xxxxxxxxxxxxxxxxxx",
        "password": "xxxxxxxxxxxxxxxxxxxxxxxx",
        "store.url": "https://store-wuxeae6.mybigcommerce.com/api/v2",
        "event.notification.enabled": True,
        "event.notification.callback.url": "http://mycoolapp.com",
        "event.poller.refresh_interval": "<minutes>",
        "event.poller.configuration": {},
    },
    "tags": ["<Add_Your_Tag>"],
    "name": "<INSTANCE_NAME>",
}


def legacy_body(store_url: str, username: str, password: str, callback_url: str) -> dict[str, Any]:
    """The legacy body with its placeholders filled: 15 minutes; orders, products and customers."""
    body = copy.deepcopy(LEGACY_TEMPLATE)
    body["configuration"].update(
        {
            "username": username,
            "password": password,
            "store.url": store_url,
            "event.notification.callback.url": callback_url,
            "event.poller.refresh_interval": "15",
            "event.poller.configuration": {
                name: seed_resource(name) for name in ("orders", "products", "customers")
            },
        }
    )
    body["tags"], body["name"] = ["demo"], "demo"
    return body


class Story:
    """The demo's output: plain text, with a little color on a terminal."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._color = out.isatty() and "NO_COLOR" not in os.environ

    def _paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self._color else text

    def _print(self, text: str, end: str = "\n") -> None:
        print(text, end=end, file=self._out, flush=True)

    def title(self) -> None:
        """The heading."""
        self._print("")
        self._print(self._paint("1", "  BigCommerce polling events: the demo"))
        self._print(
            self._paint("2", "  All on this machine: an AWS emulator, the three functions, a sandbox store.")
        )
        self._print("")

    def step(self, label: str, text: str, end: str = "\n") -> None:
        """``  ▸ Label ........ text``."""
        dots = "." * max(2, 19 - len(label))
        self._print(f"  {self._paint('36', '▸')} {label} {self._paint('2', dots)} {text}".rstrip(), end=end)

    def more(self, text: str) -> None:
        """A continuation line under the previous step's text."""
        self._print(f"{' ' * 25}{self._paint('2', text)}")

    def done(self, text: str) -> None:
        """Ends a step printed without a newline."""
        self._print(f" {text}")

    def delivery(self, delivery: Delivery, earlier: list[Delivery]) -> None:
        """One line per notification the receiver got."""
        types = sorted({e.object_type for e in delivery.events})
        events = ", ".join(f"{e.event_type} #{e.object_id}" for e in delivery.events)
        what = f"{'/'.join(types):<10} {events}"
        if not delivery.acknowledged:
            mark = self._paint("33", f"{delivery.status}")
            self._print(f"      {mark}  {what:<34} {self._paint('2', 'refused on purpose, to show a retry')}")
            return
        signatures = (
            f"standard-webhooks {self._check(delivery.standard_signature)}  "
            f"elements {self._check(delivery.elements_signature)}"
        )
        retried = any(d.webhook_id == delivery.webhook_id for d in earlier)
        note = self._paint("2", "  (redelivered: same webhook-id)") if retried else ""
        self._print(f"      {self._paint('32', '✓')}    {what:<34} {signatures}{note}")

    def _check(self, verified: bool | None) -> str:
        if verified:
            return self._paint("32", "✓")
        return self._paint("31", "✗ missing" if verified is None else "✗ wrong")

    def summary(self, events: int, notifications: int, refused: int) -> None:
        """The verdict of a successful run."""
        retries = f"; {refused} refused delivery retried" if refused else ""
        self._print("")
        self._print(
            "  "
            + self._paint("32;1", "✓")
            + f" {events} events (created and updated orders, products, customers) in {notifications} "
            f"notifications, every signature verified{retries}."
        )

    def finish(self, seconds: float) -> None:
        """The last line of a successful run."""
        self._print(
            f"  {self._paint('2', f'Done in {seconds:.1f} s. Next: make local, then the README walkthrough.')}"
        )
        self._print("")

    def fail(self, message: str) -> None:
        """Why the demo failed."""
        self._print("")
        self._print(f"  {self._paint('31;1', '✗ Demo failed:')} {message}")

    def note(self, message: str) -> None:
        """A side remark."""
        self._print(f"  {self._paint('2', message)}")
        self._print("")
