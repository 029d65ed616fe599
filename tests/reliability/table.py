"""The reliability table as Markdown (what the runner prints and docs/reliability.md shows). Tooling module."""

from __future__ import annotations

from collections.abc import Sequence

from tests.reliability.rows import Row

HEADER = ("group", "fault / scenario", "outcome", "time", "left in /tmp", "connections left", "goal met")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_time(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def format_row(row: Row) -> tuple[str, ...]:
    return (
        row.group,
        row.scenario,
        row.outcome,
        format_time(row.time_ms),
        "; ".join(row.tmp_left) if row.tmp_left else "nothing",
        "-" if row.connections_left is None else str(row.connections_left),
        "yes" if row.met else "**NO**",
    )


def format_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(_cell(cell) for cell in format_row(row)) + " |" for row in rows]
    return "\n".join(lines)


def format_details(rows: Sequence[Row]) -> str:
    """One numbered line per row: the log line or the figures behind its outcome."""
    return "\n".join(f"{index}. {row.group} / {row.scenario}: {row.detail or '-'}"
                     for index, row in enumerate(rows, 1))
