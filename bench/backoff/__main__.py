"""``python -m bench.backoff``: run the scenario, write ``backoff.json`` and ``backoff.md``, exit 0 when every check held."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import bench.backoff
from bench.backoff import DEFAULT_OUT, QUICK, Plan
from bench.backoff.report import write
from bench.backoff.scenario import run


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.backoff``: run, write the results, exit 0 when every check held."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.backoff", description=(bench.backoff.__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="2,000 waiting, a few seconds")
    parser.add_argument("--waiting", type=int, help="A's waiting notifications")
    parser.add_argument("--seconds", type=float, help="how long B is enqueued")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else Plan()
    if args.waiting is not None:
        plan = replace(plan, waiting=args.waiting)
    if args.seconds is not None:
        plan = replace(plan, run_s=args.seconds)
    result = run(plan, say=lambda line: print(line, file=sys.__stdout__, flush=True))
    args.out.mkdir(parents=True, exist_ok=True)
    write(result, args.out)
    for check in result["checks"]:
        print(f"{'held  ' if check['held'] else 'FAILED'} {check['check']}: {check['measured']}")
    return 0 if result["verdict"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
