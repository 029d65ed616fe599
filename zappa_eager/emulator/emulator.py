"""The emulator: one function, its environments, an optional loopback S3, and cleanup of all of it."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from .config import FunctionConfig, Launch, init_type_of
from .environment import Environment
from .isolation import Sandbox, build_runtime_dir, interpreter, namespaces_available
from .lifecycle import EnvironmentBusy, EnvironmentDead
from .managed import DEFAULT_PROCESSES, ManagedEnvironment
from .result import InvokeResult
from .s3 import MotoS3

#: Without ``ephemeral_storage_mb``, each environment's /tmp is a tmpfs capped at Lambda's largest
#: ephemeral storage (10,240 MB; a tmpfs only holds what is written), where mounting works.
AUTO_TMPFS_MB = 10240


def _default_base() -> Path:
    """Outside /tmp (the environments' /tmp is a mount over it): /var/tmp when usable."""
    base = Path("/var/tmp")
    if base.is_dir() and os.access(base, os.W_OK | os.X_OK):
        return base
    return Path(tempfile.gettempdir())


class Emulator:
    """A local Lambda for one function (see the package docstring for the API).

    ``base_dir`` holds the emulator's work directory (runtime copy, per-environment /tmp
    directories); it must not be under /tmp, which each environment's private /tmp hides
    (default: /var/tmp). ``read_only_task_root`` mounts the task root read-only, as
    /var/task is: no bytecode gets written back, so every cold start pays what Lambda's does.
    ``init_timeout_s`` defaults to Lambda's 10 s for on-demand and 15 min otherwise; an
    on-demand INIT cut at the limit runs again inside its first invoke, as on Lambda.
    ``ephemeral_storage_mb`` makes each environment's /tmp a tmpfs of that size (needs root);
    without it, /tmp is a tmpfs capped at ``AUTO_TMPFS_MB`` where mounting works, else a host
    directory. Either way its files stay until :meth:`close` (tests inspect them), unless
    ``release_tmp_on_stop``: then a tmpfs is unmounted when its environment stops, so a run of many
    environments (``zappa bench``) holds in memory only the /tmp of those still running.
    """

    def __init__(self, task_root: str | os.PathLike[str], handler: str = "handler.lambda_handler", *,
                 env: dict[str, str] | None = None, memory_mb: int = 512, timeout_s: float = 30.0,
                 function_name: str = "function", function_version: str = "$LATEST", region: str = "us-east-1",
                 account_id: str = "123456789012", init_timeout_s: float | None = None, isolate_tmp: bool = True,
                 read_only_task_root: bool = True, base_dir: str | os.PathLike[str] | None = None,
                 echo_logs: bool = False, print_reports: bool = False,
                 ephemeral_storage_mb: int | None = None, release_tmp_on_stop: bool = False) -> None:
        root = Path(task_root).resolve()
        if not root.is_dir():
            raise NotADirectoryError(f"task root {root} is not a directory")
        self.config = FunctionConfig(
            task_root=root, handler=handler, env=dict(env or {}), memory_mb=memory_mb, timeout_s=timeout_s,
            function_name=function_name, function_version=function_version, region=region, account_id=account_id,
            init_timeout_s=init_timeout_s, ephemeral_storage_mb=ephemeral_storage_mb,
        )
        self.read_only_task_root = read_only_task_root
        self.echo_logs = echo_logs
        self.print_reports = print_reports
        self.release_tmp_on_stop = release_tmp_on_stop
        self.environments: list[Environment] = []
        #: Lambda Managed Instances environments (:meth:`start_managed_environment`); never routed to by :meth:`invoke`.
        self.managed: list[ManagedEnvironment] = []
        self.reports: list[str] = []
        self._lock = threading.Lock()
        self._closed = False
        self._s3: MotoS3 | None = None
        self.work_dir = Path(tempfile.mkdtemp(prefix="zappa-emu-", dir=base_dir or _default_base()))
        try:
            self.runtime_dir = build_runtime_dir(self.work_dir / "runtime")
            self.task_mount = self.work_dir / "task"
            self.task_mount.mkdir()
            if isolate_tmp:
                self.isolated_tmp, self.isolation_note = namespaces_available(self.work_dir)
            else:
                self.isolated_tmp, self.isolation_note = False, "disabled (isolate_tmp=False)"
        except BaseException:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            raise
        self.python = interpreter()
        self._unshare = shutil.which("unshare") or "unshare"
        self._mount = shutil.which("mount") or "mount"
        atexit.register(self.close)  # a safety net: no runtime process outlives the tooling

    # -- context management -----------------------------------------------------------------

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop every environment and the S3 server, then delete the work dir (all /tmp dirs). Idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        with self._lock:
            environments = list(self.environments)
            managed = list(self.managed)
        for environment in environments:
            environment.stop()
        for lmi in managed:
            lmi.stop()
        if self._s3 is not None:
            self._s3.stop()
        for environment in environments:
            environment.release_tmp()
        for lmi in managed:
            lmi.release_tmp()
        if os.path.ismount(self.task_mount):  # never delete through a mount (cannot happen: private namespaces)
            return
        shutil.rmtree(self.work_dir, ignore_errors=True)

    # -- S3 ---------------------------------------------------------------------------------

    def start_s3(self) -> str:
        """Start moto_server on 127.0.0.1; environments spawned from now on get ``AWS_ENDPOINT_URL_S3``."""
        self._check_open()
        if self._s3 is None:
            self._s3 = MotoS3(self.work_dir / "moto.log", region=self.config.region)
        return self._s3.start()

    @property
    def s3_endpoint(self) -> str | None:
        return None if self._s3 is None or self._s3.proc is None else self._s3.endpoint

    def s3_put(self, bucket: str, key: str, data: bytes | str | os.PathLike[str]) -> str:
        """Upload bytes or a file to ``s3://bucket/key`` (bucket created if needed; S3 started if needed)."""
        self.start_s3()
        assert self._s3 is not None
        return self._s3.put(bucket, key, data)

    # -- environments -----------------------------------------------------------------------

    def start_environment(self, init_type: str = "on-demand", *, env: dict[str, str] | None = None,
                          restore: bool = False) -> Environment:
        """A new execution environment.

        ``on-demand``: returned unspawned; the first invoke spawns it and waits for INIT.
        ``provisioned-concurrency``: returns after INIT. ``snap-start``: returns after INIT and
        the before-snapshot hooks; the restore runs on the first invoke (or now, ``restore=True``).
        An INIT failure does not raise: see ``env.init_error``; invokes return it.
        """
        environment = self._new_environment(init_type, env)
        if init_type != "on-demand":
            environment.start(restore=restore)
        return environment

    def start_managed_environment(self, processes: int = DEFAULT_PROCESSES, *, env: dict[str, str] | None = None,
                                  wait_all: bool = False) -> ManagedEnvironment:
        """A Lambda Managed Instances environment: ``processes`` runtime processes, one Runtime API, one /tmp.

        Returns once the environment's INIT is over (one process asks for an event; the others may
        still be in theirs), or after every process finished its INIT with ``wait_all``. An INIT
        failure does not raise: see ``env.init_error``. See :mod:`.managed`.
        """
        self._check_open()
        with self._lock:
            name = f"lmi-{len(self.managed) + 1}"
            env_dir = self.work_dir / name
            env_dir.mkdir()
            launch = self._launch(env_dir)
            environment = ManagedEnvironment(name, launch, processes, env, env_dir)
            environment.release_tmp_on_stop = self.release_tmp_on_stop
            self.managed.append(environment)
        environment.start()
        if wait_all and environment.alive:
            environment.wait_ready()
        return environment

    def invoke(self, event: Any, *, init_type: str = "on-demand", **kwargs: Any) -> InvokeResult:
        """Route like Lambda: an idle live environment if there is one, else a new ``init_type`` one.

        Safe to call from many threads at once (a burst): each request gets its own environment
        unless an idle one exists.
        """
        with self._lock:
            candidates = [e for e in self.environments if e.usable and not e.busy]
        candidates.sort(key=lambda e: not e.alive)  # warm ones first
        for environment in candidates:
            try:
                return environment.invoke(event, **kwargs)
            except (EnvironmentBusy, EnvironmentDead):
                continue
        fresh = self._new_environment(init_type, None, reserve=True)  # nobody else can route to it
        try:
            if init_type != "on-demand":
                fresh.start_locked()
            return fresh.invoke_locked(event, **kwargs)
        finally:
            fresh.release()

    # -- internals --------------------------------------------------------------------------

    def _new_environment(self, init_type: str, env: dict[str, str] | None, reserve: bool = False) -> Environment:
        self._check_open()
        init_type_of(init_type)
        with self._lock:
            name = f"env-{len(self.environments) + 1}"
            env_dir = self.work_dir / name
            env_dir.mkdir()
            environment = Environment(name, init_type, self._launch(env_dir), env)
            environment.release_tmp_on_stop = self.release_tmp_on_stop
            if reserve:
                environment.reserve()
            self.environments.append(environment)
        return environment

    def _launch(self, env_dir: Path) -> Launch:
        """What a new environment in ``env_dir`` needs: its sandbox (``env_dir/tmp`` is its /tmp) and the function."""
        sized = self.config.ephemeral_storage_mb
        tmpfs_mb = sized if sized is not None else (AUTO_TMPFS_MB if self.isolated_tmp else None)
        sandbox = Sandbox(self.config.task_root, self.task_mount, env_dir / "tmp", self.isolated_tmp,
                          self.read_only_task_root, self._unshare, self._mount,
                          tmp_size_mb=tmpfs_mb, tmp_required=sized is not None)
        return Launch(self.config, sandbox, self.runtime_dir, self.python, lambda: self.s3_endpoint,
                      self._on_report, sys.stderr if self.echo_logs else None)

    def _on_report(self, line: str) -> None:
        with self._lock:
            self.reports.append(line)
        if self.print_reports:
            print(line, file=sys.stderr, flush=True)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("emulator is closed")
