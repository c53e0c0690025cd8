"""``make verify``: hours of load on the local stack, and a verdict: nothing missed, lost or leaking.

The local stack runs in this process (free ports, a throwaway state directory) with a scheduled
minute lasting ``--minute-seconds`` real seconds. Instances are created over its API with the
Cloud Elements page's legacy body (orders, products and customers) on one-minute schedules, all
watching the sandbox store, all calling back a receiver here; they are created evenly over one
period, so their schedules fire spread over it as those of instances made over time do. Then the
store changes at a steady pace (records created, and updated a few minutes later) for the
simulated duration, a share of notifications is answered 503 (so retries run under load too),
and after the last change the run waits until everything has arrived or a bound has passed. Three checks make the verdict:

- **no missed schedule**: every instance's schedule fired in every period from its creation to
  the end (none skipped, no gap beyond a period, every run ``polled``);
- **every change delivered**: every change reached every instance's callback, acknowledged,
  with a valid Standard Webhooks signature;
- **memory flat**: each function's execution environments use no more memory at the end of the
  run than after its first quarter (within the slack :mod:`bench.load.checks` allows).

The stack's own process (the AWS emulator keeps every event and attempt it is sent, like the
tables do for the retention window) is measured and reported, not judged: its memory, how often
it stalled (a watchdog thread woke late) and its full garbage collections. Results go to
``load.json`` and ``load.md`` in ``--out`` (default ``bench/results``); the exit status is 0 only
when all three checks hold.

The run (:mod:`bench.load.driver`) drives the stack with the store's changes
(:mod:`bench.load.changes`), counts what the receiver is sent (:mod:`bench.load.tally`) and samples
the processes (:mod:`bench.load.instruments`); :mod:`bench.load.checks` judges what happened
(:mod:`bench.load.record`) and :mod:`bench.load.report` writes it down.
"""

from bench.common import add_code_paths

# The local stack (devstack, bcsandbox) and the product must be importable by every module below.
add_code_paths()
