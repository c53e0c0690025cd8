"""The load run's callback receiver: checks every signature, refuses every Nth notification, notes each event.

It is the handler of a loopback server in the run's process; the instances' signing secrets are
added as they are created. What it noted is what the delivery check compares with the changes made.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from devstack.httpserver import HttpRequest, HttpResponse


class Tally:
    """The callback receiver's handler: checks signatures, fails every Nth notification, counts events."""

    def __init__(self, fail_every: int) -> None:
        self.secrets: dict[str, Webhook] = {}
        self._fail_every = fail_every
        self._lock = threading.Lock()
        self.notifications = 0
        self.refused = 0
        self.bad_signatures = 0
        #: (instance, object type, event type, object id) -> when it was first acknowledged.
        self.first_arrival: dict[tuple[str, str, str, str], float] = {}
        #: Acknowledged notifications per notification id (more than one: a duplicate).
        self.acknowledged_ids: Counter[str] = Counter()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Answer one notification: 401 unsigned, 503 when it is due to fail, else 200."""
        payload = json.loads(request.body)
        message = payload.get("message") or {}
        instance = str(message.get("instanceId"))
        webhook = self.secrets.get(instance)
        headers = {k.lower(): v for k, v in request.headers}
        try:
            if webhook is None:
                raise WebhookVerificationError("no secret for this instance")
            webhook.verify(request.body, headers, json_parse=False)
        except WebhookVerificationError:
            with self._lock:
                self.bad_signatures += 1
            return HttpResponse(401)
        now = time.time()
        with self._lock:
            self.notifications += 1
            if self._fail_every and self.notifications % self._fail_every == 0:
                self.refused += 1
                return HttpResponse(503, [("Retry-After", "1")])
            self.acknowledged_ids[headers.get("webhook-id", "")] += 1
            for event in message.get("events") or []:
                key = (instance, str(event["objectType"]), str(event["eventType"]), str(event["objectId"]))
                self.first_arrival.setdefault(key, now)
        return HttpResponse(200, [("Content-Type", "application/json")], b'{"received": true}')

    def arrived(self) -> dict[tuple[str, str, str, str], float]:
        """A copy of what arrived so far."""
        with self._lock:
            return dict(self.first_arrival)
