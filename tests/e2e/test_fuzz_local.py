"""Schemathesis's CLI against the local stack, as ``make fuzz`` runs it, on a small budget.

``st run`` with every check and the coverage, fuzzing and stateful phases, through the API Gateway
emulation: any 5xx, an undeclared status, a body off its schema or a schema-invalid request
accepted fails it. ``make fuzz`` runs the same with a larger budget.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devstack import fuzz
from devstack.config import LocalSettings

pytestmark = pytest.mark.e2e

#: Small: the coverage phase (its cases do not depend on this) is most of the run's ~20 s.
MAX_EXAMPLES = 5


def test_st_run_with_every_check_and_phase_finds_nothing_on_the_local_stack(tmp_path: Path) -> None:
    settings = LocalSettings.from_env(dict(os.environ)).on_free_ports(state_dir=tmp_path)

    outcome = fuzz.fuzz(settings, ["--max-examples", str(MAX_EXAMPLES), "--workers", "2", "--seed", "1"])

    assert outcome.status == 0, outcome.output[-6000:]
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert f"✅  {phase}" in outcome.output, outcome.output[-6000:]


def test_make_fuzz_says_which_setting_it_cannot_use(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOCAL_API_PORT", "http")

    assert fuzz.main([]) == 2
    assert "LOCAL_API_PORT" in capsys.readouterr().err
