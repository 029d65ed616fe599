"""The eager init, phase by phase: settings, remote env, archive, app, warm-up.

Upstream builds its ``LambdaHandler`` inside the first invocation. Here it is built while
the handler module is imported, i.e. in Lambda's INIT phase, which Lambda runs before
traffic arrives for provisioned concurrency, SnapStart and proactive initialization.
We compose around upstream's ``LambdaHandler`` (a subclass overriding the two loaders we
time or harden) instead of copying it, so its request path stays exactly upstream's.
A failed build follows ``eager_init_on_error`` (``plan_for_failure``): fail INIT, stay lazy, or
give the environment back to Lambda when this process can never build the app. The eager keys
of the generated settings are read once, through ``zappa_eager.runtime.contract``. Each build
has its own :class:`BootState` (its timer and the phase it is in), handed to the handler it builds.

Runtime module: imports the standard library, ``zappa.handler`` and our runtime modules.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

import zappa.handler as upstream

from zappa_eager.runtime.archive import install_project_archive, s3_opener
from zappa_eager.runtime.contract import (
    INIT_ON_DEMAND,
    ON_ERROR_AUTO,
    ON_ERROR_LAZY,
    ON_ERROR_RAISE,
    WARMUP_ONCE,
    WARMUP_SKIP,
    BootEvent,
    GeneratedSettings,
    InitType,
    LambdaContext,
    OnError,
    Phase,
    current_init_type,
)
from zappa_eager.runtime.deferred import resolve_deferred_names, sdk_modules_loaded
from zappa_eager.runtime.prime import prime_runtime
from zappa_eager.runtime.report import InitReport, PhaseTimer, WarmupResult
from zappa_eager.runtime.warmup import run_warmup, warmup_host

if TYPE_CHECKING:  # zappa ships no type hints: upstream's LambdaHandler as far as this package uses it
    from boto3.session import Session

    _Upstream = TypeVar("_Upstream", bound="LambdaHandler")

    class LambdaHandler:
        settings: ModuleType  # the generated zappa_settings module
        session: Session | None

        def __new__(cls: type[_Upstream], settings_name: str = "zappa_settings",
                    session: Session | None = None) -> _Upstream: ...
        def __init__(self, settings_name: str = "zappa_settings", session: Session | None = None) -> None: ...
        def load_remote_settings(self, remote_bucket: str, remote_file: str) -> None: ...
        def load_remote_project_archive(self, project_zip_path: str) -> bool: ...
        def handler(self, event: dict[str, Any], context: LambdaContext) -> Any: ...
        @classmethod
        def lambda_handler(cls, event: Any, context: LambdaContext) -> Any: ...
else:
    from zappa.handler import LambdaHandler

#: Lambda allows 10 s of INIT for on-demand environments; past that it restarts INIT
#: inside the invocation. Warm-up is skipped once INIT has used this much.
ON_DEMAND_WARMUP_BUDGET_S = 8.0
#: Phases whose failure another attempt in the same process can fix: an S3 read, an unpack into /tmp.
RETRYABLE_PHASES: tuple[Phase, ...] = ("remote_env", "archive")
#: Exit status of a runtime giving its environment back to Lambda; the caller gets ``Runtime.ExitError``.
GIVE_BACK_EXIT_STATUS = 70
#: Django's words when ``django.setup()`` is run again after stopping half-way.
NOT_REENTRANT = "populate() isn't reentrant"

ErrorAction = Literal["lazy", "raise", "give-back"]

_SINGLETON_ATTR = "_LambdaHandler__instance"

_Handler = TypeVar("_Handler", bound="EagerLambdaHandler")


@dataclass
class BootState:
    """One build's own state: its phase timer, and the phase it is in.

    Each ``EagerRuntime.boot`` makes one and hands it to the handler it builds, so a lazy rebuild
    never sees what the INIT before it left behind.
    """

    timer: PhaseTimer = field(default_factory=PhaseTimer)
    #: Where a failed build stopped: a loader's phase, else "app" (decides ``eager_init_on_error: auto``).
    phase: Phase = "app"

    @contextmanager
    def loading(self, phase: Phase) -> Iterator[None]:
        """Time one of upstream's loaders; ``phase`` stays set if it raises."""
        self.phase = phase
        with self.timer.phase(phase):
            yield
        self.phase = "app"  # not reached when the loader raised


class EagerLambdaHandler(LambdaHandler):
    """Upstream's handler with timed remote-env loading and a safe, atomic archive unpack.

    Built with its boot's ``state`` (``EagerLambdaHandler(settings_name, state=state)``): the loaders,
    which upstream's ``__init__`` calls, time themselves on it.
    """

    state: BootState

    def __new__(cls: type[_Handler], settings_name: str = "zappa_settings", session: Session | None = None, *,
                state: BootState | None = None) -> _Handler:
        return super().__new__(cls, settings_name, session)  # upstream's singleton

    def __init__(self, settings_name: str = "zappa_settings", session: Session | None = None, *,
                 state: BootState | None = None) -> None:
        if state is not None:
            self.state = state
        elif "state" not in vars(self):  # built without a boot (upstream's ``cls()`` keeps the singleton's)
            self.state = BootState()
        super().__init__(settings_name, session)

    def load_remote_settings(self, remote_bucket: str, remote_file: str) -> None:
        with self.state.loading("remote_env"):
            super().load_remote_settings(remote_bucket, remote_file)

    def load_remote_project_archive(self, project_zip_path: str) -> bool:
        with self.state.loading("archive"):
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


def django_setup_stuck(exc: BaseException | None = None) -> bool:
    """True when ``django.setup()`` stopped half-way: this process can never build the app again."""
    registry = sys.modules.get("django.apps.registry")
    apps = getattr(registry, "apps", None)
    if getattr(apps, "loading", False) and not getattr(apps, "ready", False):
        return True
    while exc is not None:
        if NOT_REENTRANT in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@dataclass(frozen=True)
class ErrorPlan:
    """What a failed build does next, and the sentence the init report carries about why."""

    action: ErrorAction
    note: str


_STUCK = f"Django's setup stopped half-way (\"{NOT_REENTRANT}\"), so this process can never build the app"
_GIVEN_BACK = ("the environment is given back to Lambda (this request fails with Runtime.ExitError) "
               "and the next request gets a fresh one")


def plan_for_failure(*, policy: OnError, init: InitType | str, event: BootEvent, phase: Phase,
                     stuck: bool) -> ErrorPlan:
    """``eager_init_on_error`` applied to one failed build (``event`` "init" or a rebuild on a request).

    ``auto``: a pre-initialized INIT (provisioned concurrency, SnapStart) fails, so a broken version
    never goes live; an on-demand INIT stays lazy only for what the same process can retry.
    """
    head = f"eager_init_on_error={policy}"
    if event != "init":  # a rebuild inside a request
        if stuck:
            return ErrorPlan("give-back", f"{head}: {_STUCK}; {_GIVEN_BACK}")
        if policy == ON_ERROR_AUTO and phase not in RETRYABLE_PHASES:
            return ErrorPlan("give-back", f"{head}: the app failed to build; {_GIVEN_BACK}")
        return ErrorPlan("raise", f"{head}: the rebuild failed in the {phase} phase; this request fails with the "
                                  "error and the next one retries in this environment")
    if policy == ON_ERROR_RAISE:
        return ErrorPlan("raise", f"{head}: INIT fails (init error); Lambda starts a fresh environment")
    if policy == ON_ERROR_LAZY:
        if stuck:
            return ErrorPlan("lazy", f"{head}: INIT completes as set, but {_STUCK}: the first request gives "
                                     "the environment back to Lambda and the next one gets a fresh environment")
        return ErrorPlan("lazy", f"{head}: INIT completes; the first request builds the handler again")
    if init != INIT_ON_DEMAND:
        return ErrorPlan("raise", f"{head}: a {init} INIT fails loudly so this version never goes live "
                                  "(provisioned concurrency never READY, the alias stays; no SnapStart snapshot)")
    if stuck:
        return ErrorPlan("raise", f"{head}: {_STUCK}; INIT fails and the next request gets a fresh environment")
    if phase in RETRYABLE_PHASES:
        return ErrorPlan("lazy", f"{head}: the {phase} phase failed on an on-demand INIT, which this process can "
                                 "retry: the first request builds the handler again")
    return ErrorPlan("raise", f"{head}: the app failed to build on an on-demand INIT; INIT fails and the next "
                              "request gets a fresh environment")


def give_back_environment() -> NoReturn:
    """End the runtime process mid-invocation: Lambda answers Runtime.ExitError and discards the environment.

    A handler cannot ask Lambda for a new environment any other way; ``os._exit`` skips
    the app's atexit hooks and non-daemon threads, which could keep a broken process alive.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(GIVE_BACK_EXIT_STATUS)


class EagerRuntime:
    """The per-environment state behind the zip-root ``handler.py``."""

    def __init__(self, settings_name: str = "zappa_settings") -> None:
        self.settings_name = settings_name
        self.settings: ModuleType | None = None
        self.handler: LambdaHandler | None = None
        self.report: InitReport | None = None
        #: The eager keys of ``settings`` (the defaults until it is imported).
        self.generated = GeneratedSettings()

    @property
    def enabled(self) -> bool:
        return self.generated.enabled

    @property
    def needs_rebuild(self) -> bool:
        return self.enabled and self.handler is None

    def boot(self, started: float | None = None, event: BootEvent = "init", warmup: bool = True) -> InitReport | None:
        """Build the handler now, with a state of its own. Returns the report, or None when eager init is off."""
        started = time.perf_counter() if started is None else started
        state = BootState()
        timer = state.timer
        timer.add("imports", (time.perf_counter() - started) * 1000.0)
        with timer.phase("settings"):
            settings = importlib.import_module(self.settings_name)
        self.settings = settings
        self.generated = GeneratedSettings.from_module(settings)
        if not self.enabled:
            resolve_deferred_names()  # upstream's lazy path: its WSGI names as upstream imports them, in INIT
            return None

        notes: list[str] = []
        warm_results: list[WarmupResult] = []
        try:
            self.handler = self._build(state, notes)
        except Exception as exc:
            phase = state.phase
            reset_upstream_singleton()
            self.handler = None
            traceback.print_exc()
            plan = plan_for_failure(policy=self.generated.on_error, init=current_init_type(), event=event, phase=phase,
                                    stuck=django_setup_stuck(exc))
            notes.append(plan.note)
            error = f"{type(exc).__name__}: {exc}"
            report = self._finish(timer, started, event, ok=False, error=error, warm=[], notes=notes)
            print(f"[zappa-eager] {event} failed in the {phase} phase; {plan.note}", flush=True)
            if plan.action == "lazy":
                return report
            if plan.action == "give-back":
                give_back_environment()
            raise

        if warmup:
            warm_results = self._warm(timer, started, notes)
        with timer.phase("app"):  # last: it freezes what INIT built, warm-up included
            notes.extend(prime_runtime(event))
        report = self._finish(timer, started, event, ok=True, error=None, warm=warm_results, notes=notes)
        if self.generated.snap_start and event == "init":
            # Here, not at the top: loading it costs every other INIT 0.7 ms. It never imports this module.
            from zappa_eager.runtime.snapstart import register_hooks

            register_hooks(self.warm_again if self.generated.warmup_after_restore else None)
        return report

    def rebuild(self) -> None:
        """After a lazy INIT failure the request builds the handler, as upstream would, if it still can."""
        if django_setup_stuck():  # nothing to retry: say so, then give the environment back
            plan = plan_for_failure(policy=self.generated.on_error, init=current_init_type(), event="lazy-rebuild",
                                    phase="app", stuck=True)
            self._finish(PhaseTimer(), time.perf_counter(), "lazy-rebuild", ok=False,
                         error=f"RuntimeError: {NOT_REENTRANT}", warm=[], notes=[plan.note])
            print(f"[zappa-eager] lazy-rebuild not attempted; {plan.note}", flush=True)
            give_back_environment()
        self.boot(event="lazy-rebuild", warmup=False)
        if self.handler is None:  # pragma: no cover - boot raises in that case
            raise RuntimeError("zappa-eager could not build the handler")

    def _build(self, state: BootState, notes: list[str]) -> LambdaHandler:
        timer = state.timer
        before = timer.get("remote_env") + timer.get("archive")
        started = time.perf_counter()
        handler = EagerLambdaHandler(self.settings_name, state=state)
        if getattr(handler, "app_type", None) != "asgi":  # a WSGI app's requests go through werkzeug: import them now
            resolve_deferred_names()
        loaders = timer.get("remote_env") + timer.get("archive") - before
        timer.add("app", (time.perf_counter() - started) * 1000.0 - loaders)
        with timer.phase("app"):
            notes.extend(prime_django())
        upstream.global_handler = handler
        return handler

    def _warm(self, timer: PhaseTimer, started: float, notes: list[str]) -> list[WarmupResult]:
        """The warm-up of this INIT; on an on-demand one as ``eager_init_warmup_on_demand`` says.

        On an on-demand INIT the caller is already waiting: the warm-up runs inside that wait and
        costs more than it saves the request behind it (measured in docs/benchmarks.md).
        """
        specs = list(self.generated.warmup)
        if not specs or self.handler is None:
            return []
        rounds = self.generated.warmup_rounds
        if current_init_type() == INIT_ON_DEMAND:
            policy = self.generated.warmup_on_demand
            if policy == WARMUP_SKIP:
                notes.append("warm-up skipped: on-demand INIT, a caller is waiting (eager_init_warmup_on_demand)")
                return []
            elapsed = time.perf_counter() - started
            if elapsed > ON_DEMAND_WARMUP_BUDGET_S:
                notes.append(f"warm-up skipped: INIT already took {elapsed:.1f} s of the 10 s on-demand limit")
                return []
            if policy == WARMUP_ONCE:
                rounds = 1
        with timer.phase("warmup"):
            return self._send_warmup(self.handler, specs, rounds)

    def warm_again(self) -> list[WarmupResult]:
        """Re-run the warm-up (after a SnapStart restore)."""
        if self.settings is None or self.handler is None:
            return []
        return self._send_warmup(self.handler, list(self.generated.warmup), self.generated.warmup_rounds)

    def _send_warmup(self, handler: LambdaHandler, specs: list[Mapping[str, Any]], rounds: int) -> list[WarmupResult]:
        host = warmup_host(getattr(self.settings, "DOMAIN", None))  # upstream's key: the stage's custom domain
        return run_warmup(handler, specs, host, rounds)

    def _finish(
        self,
        timer: PhaseTimer,
        started: float,
        event: BootEvent,
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
            sdk_modules=sdk_modules_loaded(),
            gc_paused=not gc.isenabled(),
        )
        self.report = report
        report.emit()
        return report
