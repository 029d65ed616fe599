"""Run the reliability scenarios: each registered module's ``scenarios(fast, workdir)``, in order.

A module is registered by name in :data:`MODULES` and provides
``scenarios(fast: bool, workdir: Path) -> list[Row]``. A module that is missing, has no such
function, or raises is not skipped: it becomes a failed row saying so, and the run goes on
with the others, so one broken part cannot hide the rest of the table.
Tooling module.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.reliability.rows import Row

#: The suite's parts, in the order the table shows them.
MODULES: tuple[str, ...] = ("archivefaults", "initlimit", "apperrors", "load", "connections", "badsettings",
                           "managed")
PACKAGE = "tests.reliability"

Progress = Callable[[str], None]


def _failed(name: str, scenario: str, detail: str) -> Row:
    return Row(group=name, scenario=scenario, outcome="the scenarios did not run", met=False, detail=detail)


def run_module(name: str, fast: bool, workdir: Path) -> list[Row]:
    """One module's rows, or one failed row that says why there are none."""
    qualified = f"{PACKAGE}.{name}"
    try:
        module = importlib.import_module(qualified)
    except ImportError as exc:
        return [_failed(name, "module missing", f"{qualified} could not be imported ({type(exc).__name__}: {exc}); "
                                                 f"every module in MODULES must exist and define scenarios()")]
    scenarios = getattr(module, "scenarios", None)
    if not callable(scenarios):
        return [_failed(name, "no scenarios()", f"{qualified} defines no scenarios(fast, workdir) -> list[Row]")]
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        rows = scenarios(fast=fast, workdir=workdir)
    except Exception as exc:  # a crashed part is a failed row, never a missing one
        last = traceback.format_exception(exc)[-3:]
        return [_failed(name, "crashed", f"{type(exc).__name__}: {exc} | {''.join(last).strip()}")]
    if not isinstance(rows, list) or not rows or not all(isinstance(row, Row) for row in rows):
        return [_failed(name, "bad result", f"{qualified}.scenarios() returned {rows!r:.200}, not a list of Row")]
    return rows


def run(fast: bool, workdir: Path, only: Sequence[str] = (), progress: Progress | None = None) -> list[Row]:
    """Every selected module's rows, in :data:`MODULES` order."""
    unknown = sorted(set(only) - set(MODULES))
    if unknown:
        raise ValueError(f"unknown reliability module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    rows: list[Row] = []
    for name in MODULES:
        if only and name not in only:
            continue
        started = time.monotonic()
        if progress is not None:
            progress(f"{name}: running ({'fast' if fast else 'full'} set)")
        found = run_module(name, fast, workdir / name)
        rows.extend(found)
        if progress is not None:
            met = sum(row.met for row in found)
            progress(f"{name}: {met}/{len(found)} met in {time.monotonic() - started:.1f} s")
    return rows
