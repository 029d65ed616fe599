"""One row of the reliability table: what was done, what happened, and whether it met the goal."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    """The outcome of one reliability scenario.

    ``tmp_left`` lists what the scenario found in the environment's /tmp afterwards that a
    clean run would not leave (empty when nothing partial was left); ``connections_left``
    counts PostgreSQL backends still open from the scenario's environments (None when the
    scenario used no database).
    """

    group: str  # "archive", "limits", "app-load", "load", "connections", "settings"
    scenario: str  # e.g. "connection reset mid-stream"
    outcome: str  # what happened, in a few words: "retried, served", "INIT failed, named s3://..."
    met: bool  # did it meet the goal in issue 11
    time_ms: float | None = None  # INIT or scenario wall time
    tmp_left: list[str] = field(default_factory=list)
    connections_left: int | None = None
    detail: str = ""  # the log line or the numbers behind the outcome

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Checks:
    """The goals a scenario missed, collected as it judges them (none missed: the goal was met)."""

    problems: list[str] = field(default_factory=list)

    def expect(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    @property
    def met(self) -> bool:
        return not self.problems

    def detail(self, text: str) -> str:
        """``text`` (the log line or the figures), led by the missed goals if any."""
        return f"PROBLEMS: {'; '.join(self.problems)} | {text}" if self.problems else text
