"""`python -m bcsandbox --host 127.0.0.1 --port 8010 --seed`: run a sandbox store in the foreground.

Prints one JSON line with the URL and credentials, then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from bcsandbox.admin import credentials
from bcsandbox.server import SandboxServer
from bcsandbox.settings import StoreSettings
from bcsandbox.store import SandboxStore


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bcsandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (keep it loopback)")
    parser.add_argument("--port", type=int, default=8010, help="port to bind; 0 picks a free one")
    parser.add_argument("--seed", action="store_true", help="start with 5 orders, products and customers")
    parser.add_argument("--store-hash", default="sandbox")
    parser.add_argument("--access-token", default="sandbox-access-token")
    parser.add_argument("--username", default="sandbox")
    parser.add_argument("--password", default="sandbox-api-token")
    parser.add_argument("--rate-limit-quota", type=int, default=StoreSettings.rate_limit_quota)
    parser.add_argument("--rate-limit-window-ms", type=int, default=StoreSettings.rate_limit_window_ms)
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run until signalled; returns the exit status."""
    args = _parser().parse_args(argv)
    settings = StoreSettings(
        rate_limit_quota=args.rate_limit_quota, rate_limit_window_ms=args.rate_limit_window_ms
    )
    store = SandboxStore(
        store_hash=args.store_hash,
        access_token=args.access_token,
        username=args.username,
        password=args.password,
        settings=settings,
    )
    if args.seed:
        store.seed()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = SandboxServer(store, args.host, args.port, verbose=args.verbose).start()
    print(json.dumps({"bcsandbox": "listening", **credentials(store, server.url)}), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    print(json.dumps({"bcsandbox": "stopped"}), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
