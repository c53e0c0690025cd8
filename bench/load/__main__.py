"""``python -m bench.load``: run the load, write ``load.json`` and ``load.md``, exit 0 when every check held.

python -m bench.load                    # 200 instances, 3 simulated hours (~50 min on 2 cores)
python -m bench.load --quick            # 8 instances, 6 simulated minutes (make test runs it)
python -m bench.load --instances 50 --hours 1 --minute-seconds 4
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import bench.load
from bench.common import ROOT
from bench.load.driver import run
from bench.load.plan import QUICK, Plan
from bench.load.report import write

DEFAULT_OUT = ROOT / "bench" / "results"


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.load``: run, write the results, exit 0 when every check held."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=(bench.load.__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="8 instances, 6 simulated minutes (seconds)")
    parser.add_argument("--instances", type=int)
    parser.add_argument("--hours", type=float, help="simulated hours")
    parser.add_argument("--minute-seconds", type=float, help="real seconds per scheduled minute")
    parser.add_argument("--changes-per-minute", type=float)
    parser.add_argument("--concurrency", type=int, help="execution environments per function")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else Plan()
    if args.instances is not None:
        plan = replace(plan, instances=args.instances)
    if args.hours is not None:
        plan = replace(plan, minutes=round(args.hours * 60))
    if args.minute_seconds is not None:
        plan = replace(plan, minute_seconds=args.minute_seconds)
    if args.concurrency is not None:
        plan = replace(plan, concurrency=args.concurrency)
    if args.changes_per_minute is not None:
        plan = replace(plan, changes_per_minute=args.changes_per_minute)
    started = time.time()
    result = run(plan, say=lambda line: print(line, flush=True))
    write(result, args.out)
    print(
        f"{'every check held' if result['verdict'] else 'A CHECK FAILED'} in {(time.time() - started) / 60:.1f} min; "
        f"see {args.out / 'load.md'}"
    )
    return 0 if result["verdict"] else 1


if __name__ == "__main__":
    sys.exit(main())
