"""What every section of the report is written with: the measures' titles and Markdown table and money cells."""

from __future__ import annotations

from typing import Any

TITLES = {
    "api_efficiency": "1. API efficiency",
    "drain": "2. Backlog drain against the rate limit",
    "pipeline": "3. Pipeline throughput and cost per event",
    "coldstart": "4. Cold start",
    "memory": "5. Memory",
    "peers": "6. Peers",
    "cost": "7. Cost model",
}


def money(value: float) -> str:
    """Dollars: four decimals under a dollar, cents with thousands separators above."""
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    """A Markdown table's lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines
