"""A stand-in for the local stack's runtime, so one trigger (scheduler, SQS source) can be tested alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.console import Console
from devstack.functions import FunctionSpec
from devstack.runtime import Gate
from devstack.workers import Outcome

SPEC = FunctionSpec(
    logical_id="StubFunction",
    name="bcevents-StubFunction",
    arn="arn:aws:lambda:us-east-1:123456789012:function:bcevents-StubFunction",
    handler="stub.handler",
    code_dir=Path("."),
    layer_dirs=(),
    timeout=5,
    memory=128,
)


@dataclass
class FakeRuntime:
    """Answers invocations with ``answer(event)``; keeps async ones pending until ``finish``."""

    answer: Callable[[Any], Outcome] = lambda event: Outcome(True, None, 0.0)
    known: tuple[str, ...] = (SPEC.arn, SPEC.name, SPEC.logical_id)
    gate: Gate = field(default_factory=Gate)
    console: Console = field(default_factory=lambda: Console(None))
    calls: list[Any] = field(default_factory=list)
    pending: list[tuple[Any, Callable[[Outcome], None] | None]] = field(default_factory=list)

    def resolve(self, name: str) -> FunctionSpec | None:
        return SPEC if name in self.known else None

    def invoke(self, spec: FunctionSpec, event: Any) -> Outcome:
        self.calls.append(event)
        return self.answer(event)

    def invoke_async(
        self, spec: FunctionSpec, event: Any, done: Callable[[Outcome], None] | None = None
    ) -> None:
        self.calls.append(event)
        self.pending.append((event, done))

    def finish(self) -> None:
        """Complete every pending async invocation."""
        pending, self.pending = self.pending, []
        for event, done in pending:
            if done is not None:
                done(self.answer(event))
