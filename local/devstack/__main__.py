"""``python -m devstack`` (``make local``): run the whole product on this machine until Ctrl-C.

Prints what it sets up, then one line beginning ``Local stack ready`` with every URL. SIGINT or
SIGTERM stops it cleanly (work in progress finishes, the state is saved); a second one stops it
at once, without saving.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

from devstack.config import LocalSettings, SettingError
from devstack.console import Console
from devstack.stack import Stack, StackError, ready_line, state_dir_note


def main() -> int:
    """Run the local stack in the foreground; returns the exit status."""
    try:
        settings = LocalSettings.from_env()
    except SettingError as exc:
        print(f"local stack: {exc}", file=sys.stderr)
        return 2
    console = Console()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            console.say("Stopping at once (state not saved).")
            os._exit(130)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    parts = "AWS emulator, functions" + (", sandbox store" if settings.sandbox else "")
    console.say(f"Starting the local stack ({parts}); Ctrl-C stops it.")
    stack = Stack(settings, console, freeze_gc=True)
    try:
        stack.start()
    except StackError as exc:
        print(f"local stack: {exc}", file=sys.stderr)
        return 1
    console.say(state_dir_note(settings.state_dir))
    console.say(ready_line(stack.urls))
    while not stop.wait(0.5):
        pass
    console.say("Stopping: finishing work in progress, saving the state...")
    stack.stop()
    console.say("Local stack stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
