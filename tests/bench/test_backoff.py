"""The dead-callback scenario (``python -m bench.backoff``) runs small, and its SQS model keeps SQS's rules.

Counts only, never a timing: the figures are for bench/results/backoff.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from bench import sqs_model
from bench.backoff import attempt_share
from bench.sqs_model import Queue

ROOT = Path(__file__).resolve().parents[2]


def test_a_quick_run_handles_the_waiting_messages_and_keeps_them_out_of_flight(tmp_path: Path) -> None:
    """2,000 notifications of a dead callback wait while another instance's are delivered: each
    of the latter once, every message of the former received is sent on or dead-lettered, and
    no more than a batch per environment is ever in flight."""
    done = subprocess.run(  # noqa: S603 - this interpreter, our module
        [sys.executable, "-m", "bench.backoff", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode in (0, 1), done.stderr[-3000:]
    result = json.loads((tmp_path / "backoff.json").read_text())
    scenario = result["scenario"]
    assert scenario["a_waiting"] == 2_000
    assert scenario["b_delivered"] == scenario["b_enqueued"] > 0
    assert scenario["b_duplicates"] == 0
    assert scenario["a_received"] > 0
    assert scenario["a_sent_on"] + scenario["dead_lettered"] == scenario["a_received"]
    assert scenario["peak_in_flight"] <= 10 * result["plan"]["environments"]
    assert "# A dead callback at scale" in (tmp_path / "backoff.md").read_text()


def test_the_default_schedule_attempts_once_in_about_thirty_receipts() -> None:
    """One attempt, then one per step of 4 s ... 54 h, each step received once per 900 s delay."""
    assert attempt_share((4, 12, 48, 192, 768, 3072, 12288, 49152, 196608)) == pytest.approx(10 / 298)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_model_delays_hides_and_brings_back_as_sqs_does() -> None:
    clock = Clock()
    dead = Queue("dead", clock=clock)
    queue = Queue("q", visibility_timeout=30, max_receive_count=2, dead_letter=dead, clock=clock)
    queue.send("later", delay=900)
    queue.send("now")

    [(first, handle)] = queue.receive(10)
    assert first.body == "now"
    assert queue.counts() == {"visible": 0, "in_flight": 1, "delayed": 1}
    clock.now += 30.5  # the visibility timeout ends: back, and a second receive counts
    [(again, _)] = queue.receive(10)
    queue.delete(handle)  # a stale handle: nothing happens
    assert (again.id, again.receive_count) == (first.id, 2)
    clock.now += 31
    assert queue.receive(10) == []  # a third receive is past maxReceiveCount: dead-lettered
    assert [m.body for m in dead.messages.values()] == ["now"]
    clock.now += 900
    [(later, later_handle)] = queue.receive(10)
    queue.delete(later_handle)
    assert later.body == "later"
    assert queue.counts() == {"visible": 0, "in_flight": 0, "delayed": 0}
    assert queue.peak_in_flight == 1


def test_the_model_refuses_what_sqs_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    queue = Queue("q", clock=time.monotonic)
    with pytest.raises(ClientError, match="InvalidParameterValue"):
        queue.send("too late", delay=901)
    monkeypatch.setattr(sqs_model, "IN_FLIGHT_LIMIT", 2)
    for body in "abc":
        queue.send(body)
    assert len(queue.receive(2)) == 2
    with pytest.raises(ClientError, match="OverLimit"):
        queue.receive(1)
