"""The eager init, phase by phase: settings, remote env, archive, app, warm-up.

Upstream builds its ``LambdaHandler`` inside the first invocation. Here it is built while
the handler module is imported, i.e. in Lambda's INIT phase, which Lambda runs before
traffic arrives for provisioned concurrency, SnapStart and proactive initialization.
We compose around upstream's ``LambdaHandler`` (a subclass overriding the two loaders we
time or harden) instead of copying it, so its request path stays exactly upstream's.

Runtime module: imports the standard library, ``zappa.handler`` and our runtime modules.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import zappa.handler as upstream
from zappa.handler import LambdaHandler

from zappa_eager.archive import install_project_archive, s3_opener
from zappa_eager.prime import prime_runtime
from zappa_eager.report import InitReport, PhaseTimer, WarmupResult
from zappa_eager.warmup import run_warmup, warmup_host

#: Lambda allows 10 s of INIT for on-demand environments; past that it restarts INIT
#: inside the invocation. Warm-up is skipped once INIT has used this much.
ON_DEMAND_WARMUP_BUDGET_S = 8.0
#: ``eager_init_warmup_on_demand`` values (kept in step with zappa_eager.settings).
WARMUP_ON_DEMAND_CHOICES = ("skip", "once", "full")
DEFAULT_WARMUP_ON_DEMAND = "skip"

_SINGLETON_ATTR = "_LambdaHandler__instance"


class EagerLambdaHandler(LambdaHandler):
    """Upstream's handler with timed remote-env loading and a safe, atomic archive unpack."""

    timer: PhaseTimer = PhaseTimer()

    def load_remote_settings(self, remote_bucket: str, remote_file: str) -> None:
        with self.timer.phase("remote_env"):
            super().load_remote_settings(remote_bucket, remote_file)

    def load_remote_project_archive(self, project_zip_path: str) -> bool:
        with self.timer.phase("archive"):
            result = install_project_archive(
                project_zip_path, self.settings.PROJECT_NAME, open_archive=s3_opener(self.session)
            )
        # Same effect as upstream: the project is importable and the working directory.
        sys.path.insert(0, result.path)
        os.chdir(result.path)
        return True


def reset_upstream_singleton() -> None:
    """Forget a half-built handler so the next ``LambdaHandler()`` builds from scratch."""
    setattr(LambdaHandler, _SINGLETON_ATTR, None)
    upstream.global_handler = None


def prime_django() -> list[str]:
    """Build Django's URL resolver and template engines, which Django otherwise builds lazily."""
    conf = sys.modules.get("django.conf")
    if conf is None or not conf.settings.configured:
        return []
    try:
        from django.template import engines
        from django.urls import get_resolver

        resolver = get_resolver()
        resolver.url_patterns  # noqa: B018 - imports ROOT_URLCONF and every included urls module
        resolver.reverse_dict  # noqa: B018 - populates the reverse lookup tables
        engines.all()
    except Exception as exc:  # the first request will surface the same error, as upstream
        traceback.print_exc()
        return [f"django priming failed: {type(exc).__name__}: {exc}"]
    return []


def _warmup_specs(settings: ModuleType) -> list[Mapping[str, Any]]:
    specs = getattr(settings, "EAGER_INIT_WARMUP", None) or []
    return [s if isinstance(s, Mapping) else {"method": "GET", "path": str(s)} for s in specs]


def _warmup_rounds(settings: ModuleType) -> int:
    # Packages built before eager_init_warmup_rounds existed send the list once.
    return int(getattr(settings, "EAGER_INIT_WARMUP_ROUNDS", 1) or 1)


def warmup_on_demand(settings: ModuleType) -> str:
    """Warm-up on an on-demand INIT: ``skip`` (default), ``once`` (one pass) or ``full``.

    On an on-demand INIT the caller is already waiting: the warm-up runs inside that wait and
    costs more than it saves the request behind it (measured in docs/benchmarks.md).
    """
    value = str(getattr(settings, "EAGER_INIT_WARMUP_ON_DEMAND", DEFAULT_WARMUP_ON_DEMAND))
    return value if value in WARMUP_ON_DEMAND_CHOICES else DEFAULT_WARMUP_ON_DEMAND


def snap_start_enabled(settings: ModuleType) -> bool:
    value = getattr(settings, "SNAP_START", None)
    return bool(value) and value != "None"


class EagerRuntime:
    """The per-environment state behind the zip-root ``handler.py``."""

    def __init__(self, settings_name: str = "zappa_settings") -> None:
        self.settings_name = settings_name
        self.settings: ModuleType | None = None
        self.handler: LambdaHandler | None = None
        self.report: InitReport | None = None
        self.enabled = True
        self.on_error = "lazy"

    @property
    def needs_rebuild(self) -> bool:
        return self.enabled and self.handler is None

    def boot(self, started: float | None = None, event: str = "init", warmup: bool = True) -> InitReport | None:
        """Build the handler now. Returns the report, or None when eager init is off."""
        started = time.perf_counter() if started is None else started
        timer = PhaseTimer()
        timer.add("imports", (time.perf_counter() - started) * 1000.0)
        with timer.phase("settings"):
            settings = importlib.import_module(self.settings_name)
        self.settings = settings
        self.enabled = bool(getattr(settings, "EAGER_INIT", True))
        self.on_error = str(getattr(settings, "EAGER_INIT_ON_ERROR", "lazy"))
        if not self.enabled:
            return None

        notes: list[str] = []
        warm_results: list[WarmupResult] = []
        try:
            self.handler = self._build(timer, notes)
        except Exception as exc:
            reset_upstream_singleton()
            self.handler = None
            traceback.print_exc()
            error = f"{type(exc).__name__}: {exc}"
            report = self._finish(timer, started, event, ok=False, error=error, warm=[], notes=notes)
            if event == "init" and self.on_error != "raise":
                print("[zappa-eager] eager init failed; the handler is built again on the first request "
                      "(eager_init_on_error: lazy)", flush=True)
                return report
            raise

        if warmup:
            warm_results = self._warm(settings, timer, started, notes)
        with timer.phase("app"):  # last: it freezes what INIT built, warm-up included
            notes.extend(prime_runtime(event))
        report = self._finish(timer, started, event, ok=True, error=None, warm=warm_results, notes=notes)
        if snap_start_enabled(settings) and event == "init":
            from zappa_eager.snapstart import register_hooks

            register_hooks(self)
        return report

    def rebuild(self) -> None:
        """``eager_init_on_error: lazy``: the first request builds the handler, as upstream would."""
        self.boot(event="lazy-rebuild", warmup=False)
        if self.handler is None:  # pragma: no cover - boot raises in that case
            raise RuntimeError("zappa-eager could not build the handler")

    def _build(self, timer: PhaseTimer, notes: list[str]) -> LambdaHandler:
        EagerLambdaHandler.timer = timer
        before = timer.get("remote_env") + timer.get("archive")
        started = time.perf_counter()
        handler = EagerLambdaHandler(self.settings_name)
        loaders = timer.get("remote_env") + timer.get("archive") - before
        timer.add("app", (time.perf_counter() - started) * 1000.0 - loaders)
        with timer.phase("app"):
            notes.extend(prime_django())
        upstream.global_handler = handler
        return handler

    def _warm(self, settings: ModuleType, timer: PhaseTimer, started: float, notes: list[str]) -> list[WarmupResult]:
        specs = _warmup_specs(settings)
        if not specs or self.handler is None:
            return []
        rounds = _warmup_rounds(settings)
        if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand") == "on-demand":
            policy = warmup_on_demand(settings)
            if policy == "skip":
                notes.append("warm-up skipped: on-demand INIT, a caller is waiting (eager_init_warmup_on_demand)")
                return []
            elapsed = time.perf_counter() - started
            if elapsed > ON_DEMAND_WARMUP_BUDGET_S:
                notes.append(f"warm-up skipped: INIT already took {elapsed:.1f} s of the 10 s on-demand limit")
                return []
            if policy == "once":
                rounds = 1
        with timer.phase("warmup"):
            return self._send_warmup(settings, specs, rounds)

    def warm_again(self) -> list[WarmupResult]:
        """Re-run the warm-up (after a SnapStart restore)."""
        if self.settings is None or self.handler is None:
            return []
        return self._send_warmup(self.settings, _warmup_specs(self.settings), _warmup_rounds(self.settings))

    def _send_warmup(self, settings: ModuleType, specs: list[Mapping[str, Any]], rounds: int) -> list[WarmupResult]:
        host = warmup_host(getattr(settings, "DOMAIN", None))
        return run_warmup(self.handler, specs, host, rounds)

    def _finish(
        self,
        timer: PhaseTimer,
        started: float,
        event: str,
        *,
        ok: bool,
        error: str | None,
        warm: list[WarmupResult],
        notes: list[str],
    ) -> InitReport:
        report = InitReport(
            phases_ms=dict(timer.durations_ms),
            total_ms=(time.perf_counter() - started) * 1000.0,
            ok=ok,
            event=event,
            error=error,
            warmup=warm,
            notes=notes,
        )
        self.report = report
        report.emit()
        return report
