"""Errors while loading the app: ``eager_init_on_error`` honoured, the reason reported, recovery once fixed.

Each scenario starts provisioned-concurrency environments of the reliability site through the
real runtime client, with ``eager_init_on_error`` written out ("lazy" unless the scenario is
the "raise" control), and PostgreSQL reachable, stopped, or started again half-way:

* an import error in the Django settings module (a dependency the package left out):
  ``lazy`` keeps the environment alive with the error in the init report, and every request
  fails with that error - loudly, never a silent 200 or a lost request; ``raise`` fails INIT;
* the database down during the warm-up: the app builds, the warm-up records its failure, the
  environment stays alive, and once the database is back the requests succeed;
* the database down while Django loads the app (an ``AppConfig.ready`` that queries it):
  Django's setup cannot be run twice in a process, so the first request after the database is
  back gives the environment to Lambda (Runtime.ExitError) and the next one is served by a
  fresh environment.

Tooling module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability import djangoapp
from tests.reliability.djangoapp import healthz_event
from tests.reliability.postgres import PostgresServer
from tests.reliability.rows import Row
from zappa_eager.emulator import Emulator, InvokeResult

GROUP = "app-load"
MISSING_MODULE = "relsite_missing_dependency"
#: What the app logs when PostgreSQL is down (psycopg's exception).
CAUSE = "OperationalError"
#: Requests sent after the fault is fixed (or, for a permanent fault, while it holds).
REQUESTS = 3


@dataclass
class Served:
    """One request's outcome, reduced to what the goals look at."""

    status: int | None
    error_type: str | None
    error_message: str | None
    environment: str

    @classmethod
    def of(cls, result: InvokeResult) -> Served:
        return cls(result.status_code if result.error is None else None, result.error_type, result.error_message,
                   result.environment)

    def describe(self) -> str:
        return str(self.status) if self.error_type is None else f"{self.error_type} ({self.environment})"


@dataclass
class AppLoadRun:
    """What one app-load scenario observed."""

    scenario: str
    on_error: str
    alive_after_init: bool = False
    init_ms: float | None = None
    init_error: dict[str, Any] | None = None  # the runtime's /init/error (on_error "raise")
    report: dict[str, Any] = field(default_factory=dict)  # the INIT's zappa_eager_init report
    requests: list[Served] = field(default_factory=list)
    connections_left: int | None = None
    logs: str = ""

    @property
    def report_error(self) -> str:
        return str(self.report.get("error") or "")

    @property
    def warmup_failures(self) -> list[str]:
        """Failed warm-ups as the init report gives them (``outcome``/``reason`` since #12, else ``error``)."""
        return [f"{w.get('method')} {w.get('path')} -> {w.get('status')}: {w.get('reason') or w.get('error')}"
                for w in self.report.get("warmup") or [] if w.get("outcome") == "failed" or w.get("error")]

    def logged(self, needle: str) -> str | None:
        """The first log line naming ``needle`` (the cause the app logged), if any."""
        return next((line.strip() for line in self.logs.splitlines() if needle in line), None)

    def statuses(self) -> str:
        return ", ".join(s.describe() for s in self.requests)


def task_root(workdir: Path, on_error: str) -> Path:
    """The site with a warm-up that queries the database and ``eager_init_on_error`` written out."""
    stage = djangoapp.stage_config(eager_init_warmup=["/healthz"], eager_init_on_error=on_error)
    return djangoapp.build_task_root(workdir / f"apperrors-{on_error}", stage)


def _requests(emu: Emulator, count: int) -> list[Served]:
    """Routed like Lambda: the live environment first, a fresh one once it failed or was given back."""
    return [Served.of(emu.invoke(healthz_event(), init_type="provisioned-concurrency")) for _ in range(count)]


def _observe_init(run: AppLoadRun, emu: Emulator) -> None:
    env = emu.start_environment("provisioned-concurrency")
    run.alive_after_init = env.alive
    run.init_ms = env.init_duration_ms
    run.init_error = env.init_error
    run.report = env.init_report() or {}


def settings_import_error(root: Path, pg: PostgresServer, on_error: str) -> AppLoadRun:
    """The settings module imports a module the package does not carry."""
    run = AppLoadRun(f"import error in the Django settings module ({on_error})", on_error)
    with djangoapp.emulator(root, {"DATABASE_URL": pg.url, "RELSITE_MISSING_IMPORT": "1"}) as emu:
        _observe_init(run, emu)
        run.requests = _requests(emu, REQUESTS)
        run.logs = emu.environments[0].logs()
    return run


def _database_outage(run: AppLoadRun, root: Path, pg: PostgresServer, env: dict[str, str],
                     requests: int) -> AppLoadRun:
    """PostgreSQL is down while the environment starts, then back for ``requests`` requests."""
    pg.stop()
    with djangoapp.emulator(root, {"DATABASE_URL": pg.url, **env}) as emu:
        _observe_init(run, emu)
        pg.start()
        run.requests = _requests(emu, requests)
        run.logs = emu.environments[0].logs()
    run.connections_left, _ = pg.settle(0)
    return run


def database_down_during_warmup(root: Path, pg: PostgresServer) -> AppLoadRun:
    """PostgreSQL is down while the environment starts and warms up, then comes back."""
    return _database_outage(AppLoadRun("database down during the warm-up (lazy)", "lazy"), root, pg, {}, REQUESTS)


def database_down_at_app_load(root: Path, pg: PostgresServer) -> AppLoadRun:
    """The app queries PostgreSQL while Django loads it (``AppConfig.ready``); the database is down, then back."""
    return _database_outage(AppLoadRun("database down while Django loads the app (lazy)", "lazy"), root, pg,
                            {"RELSITE_DB_AT_LOAD": "1"}, REQUESTS + 1)


# -- goals ------------------------------------------------------------------------------------

def import_error_met(run: AppLoadRun) -> bool:
    """``lazy``: alive, reason reported, every request fails naming it. ``raise``: INIT fails naming it."""
    named = all(s.error_type is not None and MISSING_MODULE in (s.error_message or "") for s in run.requests)
    if run.on_error == "raise":
        message = str((run.init_error or {}).get("errorMessage", ""))
        return not run.alive_after_init and MISSING_MODULE in message and named
    return (run.alive_after_init and run.report.get("ok") is False and MISSING_MODULE in run.report_error
            and named and len(run.requests) == REQUESTS)


def warmup_outage_met(run: AppLoadRun) -> bool:
    """Alive; the init report marks the warm-up failed and the log names the cause; served once back."""
    return (run.alive_after_init and run.report.get("ok") is True and bool(run.warmup_failures)
            and run.logged(CAUSE) is not None
            and all(s.status == 200 for s in run.requests) and run.connections_left == 0)


def load_outage_met(run: AppLoadRun) -> bool:
    """Alive with the reason reported; after the database is back at most one request is refused -
    explicitly, as the environment is given back - and every later one is served."""
    refused = [s for s in run.requests if s.status != 200]
    first_ok = next((i for i, s in enumerate(run.requests) if s.status == 200), None)
    return (run.alive_after_init and run.report.get("ok") is False and CAUSE in run.report_error
            and len(refused) <= 1 and all(s.error_type for s in refused)
            and first_ok is not None and all(s.status == 200 for s in run.requests[first_ok:])
            and run.connections_left == 0)


def _row(run: AppLoadRun, met: bool, outcome: str, detail: str) -> Row:
    return Row(GROUP, run.scenario, outcome, met, run.init_ms, connections_left=run.connections_left, detail=detail)


def import_error_row(run: AppLoadRun) -> Row:
    if run.on_error == "raise":
        outcome = f"INIT failed: {(run.init_error or {}).get('errorType')}"
        detail = f"{(run.init_error or {}).get('errorMessage')}; requests: {run.statuses()}"
    else:
        outcome = "alive, error in init report; requests fail with it"
        detail = f"init report error: {run.report_error}; requests: {run.statuses()}"
    return _row(run, import_error_met(run), outcome, detail)


def warmup_outage_row(run: AppLoadRun) -> Row:
    outcome = "alive, warm-up failure reported; served once the database is back"
    detail = (f"init report warm-up: {'; '.join(run.warmup_failures) or 'no failure recorded'}; log: "
              f"{run.logged(CAUSE) or 'cause not logged'}; requests after: {run.statuses()}")
    return _row(run, warmup_outage_met(run), outcome, detail)


def load_outage_row(run: AppLoadRun) -> Row:
    refused = sum(1 for s in run.requests if s.status != 200)
    outcome = f"alive, error in init report; after the database is back: {refused} refused, then served"
    notes = "; ".join(str(n) for n in run.report.get("notes") or [])
    detail = f"init report error: {run.report_error.splitlines()[0] if run.report_error else ''}; " \
             f"requests after: {run.statuses()}; note: {notes}"
    return _row(run, load_outage_met(run), outcome, detail)


def scenarios(fast: bool, workdir: Path) -> list[Row]:
    """The same four rows in the fast and the full set (each takes a few seconds)."""
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    with PostgresServer() as pg:
        pg.start()
        lazy, strict = task_root(workdir, "lazy"), task_root(workdir, "raise")
        rows.append(import_error_row(settings_import_error(lazy, pg, "lazy")))
        rows.append(import_error_row(settings_import_error(strict, pg, "raise")))
        rows.append(warmup_outage_row(database_down_during_warmup(lazy, pg)))
        rows.append(load_outage_row(database_down_at_app_load(lazy, pg)))
    return rows
