"""What the local stack tells the person running it: one short line per thing that happened."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Console:
    """Timestamped activity lines on a stream, or nowhere (the demo tells its own story)."""

    def __init__(self, stream: TextIO | None = sys.stdout) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def activity(self, kind: str, text: str) -> None:
        """``12:03:04  poll      instance 123... (schedule) ok 0.4 s``."""
        self.say(f"{time.strftime('%H:%M:%S')}  {kind:<9} {text}")

    def say(self, text: str) -> None:
        """A line as it is."""
        if self._stream is None:
            return
        with self._lock:
            print(text, file=self._stream, flush=True)
