"""The benchmark code runs end to end on tiny inputs and writes well-formed results (never a timing check)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import api_efficiency, report, run
from bench.cost import pricing

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """``python -m bench.run --quick`` in a process of its own (it patches botocore and the logger)."""
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run(  # noqa: S603 - this interpreter, our module
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text())


def test_every_section_runs_and_reports_its_target(quick_results: tuple[Path, dict[str, Any]]) -> None:
    _, results = quick_results
    assert set(results["sections"]) == set(run.SECTIONS)
    for name, section in results["sections"].items():
        assert "error" not in section, (name, section.get("error"))
        if name != "pipeline":
            assert isinstance(section["met"], bool), name
    assert results["machine"]["cores"] >= 1
    assert results["quick"] is True


def test_the_counts_are_those_of_the_product(quick_results: tuple[Path, dict[str, Any]]) -> None:
    sections = quick_results[1]["sections"]
    idle = next(c for c in sections["api_efficiency"]["cases"] if c["changes"] == 0)
    assert (idle["list_requests"], idle["minimum"]) == (3, 3)
    assert all(c["all_reported"] for c in sections["api_efficiency"]["cases"])
    assert sections["drain"]["status_429"] == 0
    assert sections["drain"]["all_reported"]
    for design in ("batched", "naive"):
        assert sections["pipeline"]["median"][design]["all_delivered"]
    assert sections["pipeline"]["median"]["naive"]["callback_connections_per_event"] == 1.0
    assert all(c["all_reported"] for c in sections["memory"]["cases"])
    peers = {p["key"]: p for p in sections["peers"]["peers"]}
    assert peers["a"]["emitted_every_record"]
    assert peers["b"]["emitted_every_record"]
    assert sections["cost"]["measured"]["idle_poll"]["counts_stable"]
    assert sections["cost"]["estimate"]["per_instance_month"] > 0


def test_the_report_states_each_target_and_whether_it_is_met(
    quick_results: tuple[Path, dict[str, Any]],
) -> None:
    out, results = quick_results
    text = (out / "report.md").read_text()
    for title in report.TITLES.values():
        assert f"## {title}" in text
    assert len(report.headline(results)) == len(run.SECTIONS)
    assert "**met**" in text or "**missed**" in text


def test_the_minimum_is_one_request_per_resource_idle_and_every_page_plus_one() -> None:
    assert api_efficiency.minimum_requests(0, resources=3) == 3
    assert [api_efficiency.minimum_requests(n) for n in (1, 249, 250, 251, 10_000)] == [2, 2, 2, 3, 41]


def test_the_cost_model_prices_a_month_from_measured_counts() -> None:
    sample = {
        "wall_ms": 10.0,
        "cpu_ms": 8.0,
        "log_bytes": 500,
        "store_requests": 4,
        "aws": {
            "dynamodb.PutItem": {"calls": 1, "units": 1.0},
            "dynamodb.GetItem": {"calls": 1, "units": 1.0},
        },
    }
    changed = {**sample, "aws": {**sample["aws"], "sqs.SendMessageBatch": {"calls": 1, "units": 1.0}}}
    deliver = {
        **sample,
        "store_requests": 0,
        "event_source": {"sqs.ReceiveMessage": {"calls": 1, "units": 1.0}},
    }
    measured = {"idle_poll": sample, "changed_poll": changed, "deliver": deliver}
    sizes = {"poll": 512, "deliver": 256}

    ours = pricing.model(measured, sizes)
    naive = pricing.naive_model(measured, sizes)

    assert ours["inputs"]["polls"] == 8640
    assert ours["components"]["EventBridge Scheduler"] == pytest.approx(8640 / 1e6)
    assert naive["components"]["EventBridge Scheduler"] == pytest.approx(3 * 8640 / 1e6)
    assert ours["per_instance_month"] == pytest.approx(sum(ours["components"].values()), abs=1e-4)
    assert naive["per_instance_month"] > ours["per_instance_month"]
