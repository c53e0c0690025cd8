"""Run the benchmarks and write ``results.json``, ``report.md`` and the plots.

    python -m bench.run                 # everything (what `make bench` runs; ~15 minutes on 2 cores)
    python -m bench.run --quick         # tiny inputs, seconds: checks the code runs (make test does)
    python -m bench.run --only drain,cost   # some sections; the others are kept from results.json

Benchmarks measure and report; they never fail on a figure. The exit status is non-zero only when
a section could not run at all (its error is in the results and the report).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import ROOT, add_code_paths, machine, measured_commit, write_json
from bench.stack import Stack

SECTIONS = ("api_efficiency", "drain", "pipeline", "coldstart", "memory", "peers", "cost")
DEFAULT_OUT = ROOT / "bench" / "results"
LAYER_PYTHON = ROOT / "bench" / ".venvs" / "layer" / "bin" / "python"


def _layer_python() -> str:
    """The interpreter with exactly the Lambda layer's requirements, when ``make bench`` built it."""
    return str(LAYER_PYTHON) if LAYER_PYTHON.exists() else sys.executable


def _interpreter_note(python: str) -> str:
    if python == str(LAYER_PYTHON):
        return "a virtualenv with exactly layers/core/requirements.txt (bench/.venvs/layer)"
    return "the bench's own interpreter (the layer's virtualenv was not built)"


def _section(name: str, stack: Stack | None, quick: bool, done: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from bench import api_efficiency, coldstart, cost, drain, memory, pipeline
    from bench.peers import runner

    if name == "api_efficiency":
        assert stack is not None
        return api_efficiency.run(stack, quick=quick)
    if name == "drain":
        assert stack is not None
        if quick:
            return drain.run(stack, backlog=600, quota=3, window_ms=1000, python=_layer_python())
        return drain.run(stack, python=_layer_python())
    if name == "pipeline":
        assert stack is not None
        return pipeline.run(stack, events=30, runs=1) if quick else pipeline.run(stack)
    if name == "coldstart":
        python = _layer_python()
        result = (
            coldstart.run(rounds=1, python=python, breakdown=False, warm=False)
            if quick
            else coldstart.run(python=python)
        )
        result["interpreter"] = _interpreter_note(python)
        return result
    if name == "memory":
        assert stack is not None
        python = _layer_python()
        drained = done.get("drain", {})
        large = None
        if "child" in drained:
            large = {
                **drained["child"],
                "backlog": drained["backlog"],
                "all_reported": drained["all_reported"],
            }
        backlogs = (100, 600) if quick else memory.BACKLOGS
        result = memory.run(stack, backlogs=backlogs, python=python, large=large)
        result["interpreter"] = _interpreter_note(python)
        return result
    if name == "peers":
        return runner.run(quick=quick)
    if name == "cost":
        assert stack is not None
        return cost.run(stack, probes=2) if quick else cost.run(stack)
    raise ValueError(f"unknown section {name!r}")


def run(
    sections: tuple[str, ...], *, quick: bool, out: Path, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run ``sections``, merge them into ``out/results.json``, write the report; the results."""
    add_code_paths()
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    out.mkdir(parents=True, exist_ok=True)
    previous: dict[str, Any] = {}
    results_file = out / "results.json"
    if results_file.exists() and set(sections) != set(SECTIONS):
        previous = json.loads(results_file.read_text())
    results: dict[str, Any] = {
        "machine": machine(),
        "commit": measured_commit(),
        "quick": quick,
        "sections": dict(previous.get("sections", {})),
    }
    started = time.perf_counter()
    done: dict[str, dict[str, Any]] = {}
    in_process = [s for s in sections if s in ("api_efficiency", "pipeline", "cost")]
    # Measures in a child process of their own need AWS as a server (its memory is not theirs).
    with_server = [s for s in ("drain", "memory") if s in sections]
    others = [s for s in sections if s not in in_process and s not in with_server]
    if in_process:
        with Stack.running() as stack:
            for name in in_process:
                done[name] = _timed(name, stack, quick, done, log)
    if with_server:
        with Stack.running(aws_in_process=False) as stack:
            for name in with_server:
                done[name] = _timed(name, stack, quick, done, log)
    for name in others:
        done[name] = _timed(name, None, quick, done, log)
    results["sections"].update(done)
    results["total_s"] = round(time.perf_counter() - started, 1)
    if previous and set(sections) != set(SECTIONS):
        results["total_s"] = previous.get("total_s", results["total_s"])
    write_json(results_file, results)
    from bench import report

    report.write(results, out)
    log(
        f"bench: wrote {out / 'results.json'} and {out / 'report.md'} in {time.perf_counter() - started:.0f} s"
    )
    return results


def rewrite_report(out: Path) -> None:
    """report.md and the plots again from results.json; the cost model is re-priced from its measurements."""
    from bench import cost, report

    add_code_paths()
    results_file = out / "results.json"
    results = json.loads(results_file.read_text())
    priced = results["sections"].get("cost", {})
    if "measured" in priced:
        elapsed = priced.get("elapsed_s")
        results["sections"]["cost"] = {
            "measured": priced["measured"],
            **cost.price(priced["measured"], cost.memory_sizes()),
            "elapsed_s": elapsed,
        }
    write_json(results_file, results)
    report.write(results, out)


def _timed(
    name: str, stack: Stack | None, quick: bool, done: dict[str, dict[str, Any]], log: Callable[[str], None]
) -> dict[str, Any]:
    log(f"bench: {name} ...")
    started = time.perf_counter()
    try:
        result = _section(name, stack, quick, done)
    except Exception as exc:  # a section that cannot run is reported, and the run fails at the end
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    log(f"bench: {name} done in {result['elapsed_s']:.0f} s")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs: seconds, for make test")
    parser.add_argument("--only", default="", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="where results go (default bench/results)"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite report.md and the plots from results.json (re-pricing the cost model), measuring nothing",
    )
    args = parser.parse_args(argv)
    if args.report_only:
        rewrite_report(args.out)
        return 0
    sections = tuple(s for s in args.only.split(",") if s) or SECTIONS
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    results = run(sections, quick=args.quick, out=args.out)
    failed = [name for name in sections if "error" in results["sections"].get(name, {})]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
