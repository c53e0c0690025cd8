"""The callback receiver of the local stack, the demo, the tests and the benchmarks.

The local stack runs one (``LOCAL_CALLBACK_PORT``) so a walkthrough has somewhere to send events;
the demo, the tests and the benchmarks run their own. Each records every request, reads each
notification (its instance, events and signatures) and answers as told: scripted per path, failing
the next few notifications, or 200. ``GET`` lists what arrived.

    with CallbackReceiver() as receiver:
        receiver.script("/hook", Reply(503), Reply(200))
        ...  # the service calls receiver.url("/hook")
        [first, second] = receiver.requests_to("/hook")
"""

from callbacks.notifications import (
    Delivery,
    Event,
    WebhookSecrets,
    describe,
    notification_events,
    verify_elements,
    verify_standard,
)
from callbacks.receiver import CallbackReceiver, ReceivedRequest, Reply

__all__ = [
    "CallbackReceiver",
    "Delivery",
    "Event",
    "ReceivedRequest",
    "Reply",
    "WebhookSecrets",
    "describe",
    "notification_events",
    "verify_elements",
    "verify_standard",
]
