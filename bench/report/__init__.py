"""The Markdown report and its PNG plots, written from ``results.json`` alone.

:func:`markdown` puts together the machine and commit measured, the table of targets
(:mod:`bench.report.headline`) and a section per benchmark (:mod:`bench.report.store`,
:mod:`bench.report.functions`, :mod:`bench.report.cost`); :func:`write` draws the plots too when
matplotlib is importable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import cost, functions, store
from bench.report.cells import TITLES, table
from bench.report.headline import headline


def _yes(flag: bool | None) -> str:
    if flag is None:
        return "—"
    return "**met**" if flag else "**missed**"


_SECTIONS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "api_efficiency": store.api_efficiency,
    "drain": store.drain,
    "pipeline": functions.pipeline,
    "coldstart": functions.coldstart,
    "memory": functions.memory,
    "peers": store.peers,
    "cost": cost.cost,
}


def markdown(results: dict[str, Any], plots: bool) -> str:
    """The report."""
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {m['date']} on {m['cpu_model'] or 'an unnamed CPU'}, {m['cores']} cores "
        f"({m['system']}, Python {m['python']}), commit `{results.get('commit', '?')}`"
        f"{' (quick run: tiny inputs, not figures to quote)' if results.get('quick') else ''}. "
        f"`make bench` took {results.get('total_s', 0) / 60:.1f} minutes. These machines are shared and "
        "noisy: every comparison is a ratio measured in one run, every timing a median of several runs.",
        "",
        "## Targets",
        "",
    ]
    lines += table(
        ["measure", "target", "measured", ""],
        [[r["measure"], r["target"], r["measured"], _yes(r["met"])] for r in headline(results)],
    )
    if not plots:
        lines += ["", "_Plots were not drawn (matplotlib is not installed in this interpreter)._"]
    for key, render in _SECTIONS.items():
        section = results.get("sections", {}).get(key)
        if section is None:
            continue
        lines += ["", f"## {TITLES[key]}", ""]
        if "error" in section:
            lines.append(f"**Did not run:** `{section['error']}`")
            continue
        lines += render(section)
        if section.get("elapsed_s") is not None:
            lines += ["", f"_This section took {section['elapsed_s']:.0f} s._"]
    lines += [
        "",
        "## How to reproduce",
        "",
        "`make bench` (about a quarter of an hour on 2 cores; see `bench/README.md`). "
        "`results.json` beside this report has every figure, sample and count.",
        "",
    ]
    return "\n".join(lines)


def write(results: dict[str, Any], out: Path) -> bool:
    """Write report.md (and the plots, when matplotlib is importable); whether plots were drawn."""
    try:
        from bench import plots as plotting
    except ImportError:
        drawn = False
    else:
        plotting.draw(results, out)
        drawn = True
    (out / "report.md").write_text(markdown(results, drawn))
    return drawn
