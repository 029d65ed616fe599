"""A local AWS Lambda for measuring cold starts: the real awslambdaric against a local Runtime API.

Tooling only - never imported inside Lambda. Every execution environment is a fresh Python
process running ``python -S -m awslambdaric <handler>`` with the task root first on
``sys.path`` and a copy of awslambdaric (+ simplejson, snapshot_restore_py, the native
runtime client) after it, as Lambda's /var/runtime - nothing else from the tooling venv is
visible (``isolation.RUNTIME_CLIENT_MODULES``). Each environment has its own Runtime API server
(127.0.0.1, ephemeral port), a private empty /tmp (mount namespace; ``isolated_tmp`` is False
where that is not permitted and TMPDIR is used instead), and a read-only view of the task root.

Modules: ``emulator`` (the function, routing, cleanup), ``environment`` (one environment's
invokes and results), ``managed`` (a Lambda Managed Instances environment: N processes),
``lifecycle`` (INIT, the init limit, the SnapStart restore; ``Stage``),
``process`` (spawn, watch, kill, peak RSS of the runtime process), ``runtime_api`` (the HTTP
server awslambdaric talks to), ``platform_log`` (START/END/REPORT/INIT_REPORT lines and
billing), ``logcapture``, ``isolation``, ``config``, ``result``, ``events``, ``s3``, ``motoext``.

API (stable; the benchmark builds on it)::

    from zappa_eager.emulator import Emulator, events

    with Emulator(task_root, handler="handler.lambda_handler", env={"STAGE": "dev"}, memory_mb=512,
                  timeout_s=30, function_name="shop-dev") as emu:
        emu.start_s3()                                   # moto_server on 127.0.0.1 -> endpoint URL
        emu.s3_put("bucket", "key", path_or_bytes)       # creates the bucket if needed
        env = emu.start_environment("provisioned-concurrency")   # returns after INIT
        r = env.invoke(events.api_gateway_v1("GET", "/healthz"))
        r.status_code, r.headers, r.body, r.json()       # decoded HTTP proxy response
        r.payload                                        # the parsed JSON the handler returned
        r.error, r.error_phase, r.timed_out              # {"errorType", "errorMessage", ...}, "init"|"restore"|"invoke"
        r.duration_ms      # Lambda's Duration: event handed out on invocation/next -> response received
        r.latency_ms       # what the caller waited: invoke() -> result (includes INIT on on-demand)
        r.init_duration_ms # INIT this invoke waited for (first invoke of on-demand), else None
        r.restore_duration_ms, r.reinit_duration_ms, r.billed_duration_ms, r.max_memory_mb, r.report_line
        env.init_duration_ms, env.spawn_overhead_ms, env.logs(), env.init_report(), env.init_reports()
        env.reports, env.tmp_dir, env.alive, env.stage, env.stop()   # stage: lifecycle.Stage (NEW, INIT, READY...)
        env2 = emu.start_environment("on-demand")        # spawned by its first invoke
        env3 = emu.start_environment("snap-start")       # INIT + before-snapshot; restore on first invoke
        env3.restore()                                   # ...or restore now (returns Restore Duration ms)
        emu.invoke(event)                                # Lambda-like routing: idle warm env, else a new
                                                         # on-demand one; thread-safe (bursts)
        emu.reports                                      # every REPORT line, in order
        lmi = emu.start_managed_environment(16)          # Lambda Managed Instances: 16 runtime processes
                                                         # (awslambdaric forks them), one Runtime API, one
                                                         # /tmp; returns once one process is ready
        lmi.wait_ready(); lmi.workers(); lmi.memory()    # per-process INIT; RSS/PSS of the whole environment
        lmi.invoke(event).process                        # thread-safe, up to 16 at once; which process served

Details:

* ``env.stage`` (``Stage``): NEW -> INIT -> READY <-> BUSY; snap-start: INIT -> SNAPSHOT ->
  RESTORE -> READY; an on-demand INIT cut by the init limit: INIT -> REINIT_PENDING -> REINIT
  (inside the first invoke) -> READY; from any stage -> DEAD (``env.dead_reason``), never revived.
* INIT duration = runtime exec -> first ``invocation/next`` (``restore/next`` for SnapStart);
  the few ms of namespace setup before the exec are in ``env.spawn_overhead_ms``.
* REPORT lines are Lambda's (tab-separated; ``parse_report_line`` reads them): Init
  Duration only on an on-demand environment's first invoke, Restore Duration on a SnapStart
  environment's first invoke; Max Memory Used is the runtime process's VmHWM.
* ``Emulator(..., init_timeout_s=None, isolate_tmp=True, read_only_task_root=True, base_dir=None,
  echo_logs=False, print_reports=False, ephemeral_storage_mb=None, region=..., account_id=...,
  function_version=...)``; user ``env`` may not set Lambda's reserved variables (``config.RESERVED``).
  ``ephemeral_storage_mb``: each environment's /tmp is a tmpfs of that size (mounting needs root);
  unset, a tmpfs capped at 10,240 MB where mounting works, else a host directory. Its files stay
  until the emulator closes; ``release_tmp_on_stop=True`` frees each when its environment stops.
* The init limit (``init_timeout_s``, default Lambda's: 10 s on-demand, 15 min otherwise): an
  on-demand INIT past it is cut and runs again in a fresh runtime process inside the first
  invoke, under the function timeout, with the same /tmp (``INIT_REPORT ... Phase: init Status:
  timeout``, then ``Phase: invoke``; ``r.reinit_duration_ms``; the REPORT has no Init Duration,
  its Duration includes that INIT). A pre-initialized INIT past its limit fails.
* Errors come back as results, not exceptions: init errors (``/init/error``), handler
  exceptions (``/invocation/{id}/error``), timeouts (``Sandbox.Timedout``; the environment is
  killed), runtime exits (``Runtime.ExitError``). ``EnvironmentBusy`` (one invoke at a time per
  environment) and ``EnvironmentDead`` (invoking a stopped/killed one) are raised.
* Everything started (processes, server threads, moto) stops at ``close()``/context exit,
  which also deletes the per-environment /tmp directories (deferred until then on purpose:
  mass deletion next to another environment's INIT slows it down).
* Not emulated: CPU scaling with memory size, the memory limit, real snapshot/restore (each
  SnapStart environment runs its own INIT; the restore continues the same process), payload
  size limits.
"""

from __future__ import annotations

from . import events
from .emulator import Emulator
from .environment import Environment
from .lifecycle import EnvironmentBusy, EnvironmentDead, Stage
from .managed import ManagedEnvironment
from .platform_log import parse_report_line
from .result import InvokeResult

__all__ = ["Emulator", "Environment", "EnvironmentBusy", "EnvironmentDead", "InvokeResult", "ManagedEnvironment",
           "Stage", "events", "parse_report_line"]
