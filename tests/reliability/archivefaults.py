"""Archive faults: what S3 and the network do to the slim_handler download, through the real runtime.

Each case injects one fault between an on-demand environment and the local S3 (the fault
proxy, or the object itself), sends one request, and checks the goals of issue 11:

* a transient fault (reset, early close, stall, 503 SlowDown) is retried and the request is
  served, with a log line naming the s3:// URL for each retry;
* a permanent one (404, 403, truncated or corrupted archive, /tmp too small) fails the build
  with a log line naming the s3:// URL and the fix, the environment stays up (on-demand
  archive failures are lazy under ``eager_init_on_error: auto``) and the request gets that
  error - never lost silently; once the fault is fixed the same environment serves;
* the environment's /tmp holds nothing partial afterwards (the complete project or nothing);
* the next environment, after the fault, starts clean and is served.

Tooling module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.djangoapp import home_event
from tests.reliability.faultproxy import Fault
from tests.reliability.lab import (
    ARCHIVE_PATH,
    ARCHIVE_URL,
    FAST_ARCHIVE,
    FULL_ARCHIVE,
    Lab,
    TmpState,
    inspect_tmp,
    log_line,
    served,
)
from tests.reliability.rows import Checks, Row
from zappa_eager.emulator import Environment, InvokeResult
from zappa_eager.runtime.archive import READ_TIMEOUT_S

GROUP = "archive"
#: Attempts install_project_archive makes in one build (its default).
ATTEMPTS = 3
#: /tmp of the "too small" case: less than the unpacked project of the fast set (6.6 MB).
SMALL_TMP_MB = 4
MIB = 1 << 20


def _nothing(lab: Lab) -> None:
    pass


def _clear(lab: Lab) -> None:
    lab.faults.clear()


def _reupload(lab: Lab) -> None:
    lab.faults.clear()
    lab.put_archive()


@dataclass(frozen=True)
class FaultCase:
    """One fault: how to inject it, how a user fixes it, and what the log line must say."""

    name: str
    transient: bool
    inject: Callable[[Lab], None]
    fix: Callable[[Lab], None] = _clear
    faulted: int = 1  # transient: GETs that meet the fault before one gets through
    fix_words: tuple[str, ...] = ()  # permanent: the fix, as the log line must name it
    emulator: dict[str, Any] = field(default_factory=dict)  # Emulator options of the faulted environment
    same_env_recovers: bool = True  # permanent: after the fix, the faulted environment serves
    stall: bool = False  # the client must give up on the stalled stream (its read timeout), not wait it out
    fast: bool = True  # in the fast set (CI); every case is in the full set

    @property
    def gives_up_in_init(self) -> bool:
        """A transient fault outlasting one build's attempts: INIT gives up, the request retries."""
        return self.transient and self.faulted >= ATTEMPTS


def _half(lab: Lab) -> int:
    return len(lab.project.data) // 2


def _truncate(lab: Lab) -> None:
    lab.put_archive(lab.project.data[: len(lab.project.data) * 6 // 10])


def _corrupt(lab: Lab) -> None:
    data = bytearray(lab.project.data)
    middle = len(data) // 2
    data[middle:middle + 4096] = bytes(b ^ 0xFF for b in data[middle:middle + 4096])
    lab.put_archive(bytes(data))


def _proxy(kind: str, *, mid_stream: bool = False, **options: Any) -> Callable[[Lab], None]:
    """Inject a proxy fault on the archive's GETs; ``mid_stream``: after half of the body went out."""

    def inject(lab: Lab) -> None:
        settings: dict[str, Any] = {**options, "after_bytes": _half(lab)} if mid_stream else dict(options)
        lab.faults.inject(Fault(kind, path=ARCHIVE_PATH, **settings))

    return inject


READ_TIMEOUT = f"{READ_TIMEOUT_S:.0f} s read timeout"
CASES: tuple[FaultCase, ...] = (
    FaultCase("connection reset mid-stream", True, _proxy("reset", mid_stream=True)),
    FaultCase("connection closed mid-stream (body cut short)", True, _proxy("cut", mid_stream=True)),
    FaultCase("503 SlowDown, first 2 attempts", True, _proxy("status", times=2), faulted=2),
    FaultCase(f"503 SlowDown, first {ATTEMPTS} attempts (all of INIT's)", True, _proxy("status", times=ATTEMPTS),
              faulted=ATTEMPTS),
    FaultCase(f"stall mid-stream, longer than the {READ_TIMEOUT}", True,
              _proxy("stall", mid_stream=True, stall_s=60), stall=True),
    FaultCase(f"stall before the response, longer than the {READ_TIMEOUT}", True,
              _proxy("stall", after_bytes=None, stall_s=60), stall=True, fast=False),
    FaultCase("connection reset before the response", True, _proxy("reset", after_bytes=None), fast=False),
    FaultCase("404 NoSuchKey (archive not uploaded)", False, lambda lab: lab.delete_archive(), _reupload,
              fix_words=("not found", "zappa update")),
    FaultCase("403 AccessDenied", False,
              _proxy("status", times=10_000, status=403, code="AccessDenied", message="Access Denied"),
              fix_words=("denied", "s3:GetObject")),
    FaultCase("truncated archive (60% of it in S3)", False, _truncate, _reupload,
              fix_words=("corrupt or truncated", "zappa update")),
    FaultCase("corrupted archive (4 KiB flipped mid-file)", False, _corrupt, _reupload,
              fix_words=("corrupt or truncated", "zappa update")),
    FaultCase(f"/tmp too small ({SMALL_TMP_MB} MB tmpfs)", False, _nothing, _nothing,
              fix_words=("no space left", "ephemeral"), emulator={"ephemeral_storage_mb": SMALL_TMP_MB},
              same_env_recovers=False),
)


def cases(fast: bool) -> list[FaultCase]:
    return [case for case in CASES if case.fast or not fast]


def open_lab(workdir: Path, fast: bool) -> Lab:
    return Lab(workdir, FAST_ARCHIVE if fast else FULL_ARCHIVE, name="archive")


def _leftovers(label: str, state: TmpState) -> list[str]:
    return [f"{label}: {item}" for item in state.leftovers]


def run_case(lab: Lab, case: FaultCase) -> Row:
    """Inject ``case``, drive one environment through it and a clean one after it, and judge the goals."""
    check = Checks()
    before = len(lab.gets())
    case.inject(lab)
    fixed = False
    recovered: InvokeResult | None = None
    try:
        with lab.emulator(**case.emulator) as emu:
            env = emu.start_environment("on-demand")
            first = env.invoke(home_event())
            report = env.init_report() or {}
            after_first = inspect_tmp(env, lab.project)
            gets = lab.gets()[before:]
            line = _the_line(env, case)
            if not case.transient:
                case.fix(lab)
                fixed = True
                if case.same_env_recovers:
                    recovered = env.invoke(home_event())
                    after_fix = inspect_tmp(env, lab.project)
                    check.expect(served(recovered), f"after the fix the same environment was not served "
                                                    f"({recovered.error_type}: {recovered.error_message})")
                    check.expect(after_fix.project_complete and after_fix.clean,
                                 f"after the fix /tmp is not the complete project: {after_fix}")
            alive_after = env.alive
    finally:
        if not fixed:
            case.fix(lab)
    with lab.emulator() as emu:
        nxt_env = emu.start_environment("on-demand")
        nxt = nxt_env.invoke(home_event())
        nxt_tmp = inspect_tmp(nxt_env, lab.project)

    error = str(report.get("error") or "")
    if case.transient:
        outcome = _judge_transient(check, case, first, report, gets, line)
    else:
        outcome = _judge_permanent(check, case, first, error, gets, line, alive_after)
    check.expect(not after_first.leftovers, f"left in /tmp after the fault: {after_first.leftovers}")
    if served(first):
        check.expect(after_first.project_complete, f"served, but the project in /tmp is not complete: "
                                                   f"{after_first.project_problem}")
    check.expect(served(nxt), f"the next environment was not served ({nxt.error_type}: {nxt.error_message})")
    check.expect(nxt_tmp.project_complete and nxt_tmp.clean, f"the next environment's /tmp: {nxt_tmp}")
    if recovered is not None and served(recovered):
        outcome += "; same env served after the fix"
    outcome += "; next env served clean" if served(nxt) and nxt_tmp.clean else "; next env NOT clean"
    return Row(group=GROUP, scenario=case.name, outcome=outcome, met=check.met, time_ms=first.latency_ms,
               tmp_left=_leftovers("faulted env", after_first) + _leftovers("next env", nxt_tmp),
               connections_left=None, detail=check.detail(line or "(no log line names the archive)"))


def _the_line(env: Environment, case: FaultCase) -> str:
    """The log line an operator would find: a retry for transient faults, the failure otherwise."""
    if case.transient and not case.gives_up_in_init:
        return log_line(env, "[zappa-eager] archive", ARCHIVE_URL, "retrying")
    words = case.fix_words or ("attempts",)
    lines = [line for line in env.log_lines() if ARCHIVE_URL in line and all(w in line for w in words)]
    # The exception line of the traceback, else the init report's human line.
    return next((line for line in lines if not line.startswith(("[zappa-eager]", "{"))), lines[0] if lines else "")


def _judge_transient(check: Checks, case: FaultCase, first: InvokeResult, report: dict[str, Any],
                     gets: list[Any], line: str) -> str:
    check.expect(served(first), f"the request was not served ({first.error_type}: {first.error_message})")
    check.expect(len(gets) == case.faulted + 1,
                 f"{len(gets)} GETs of the archive, expected {case.faulted} faulted + 1 good")
    check.expect(ARCHIVE_URL in line, "no log line names the archive's s3:// URL")
    if case.stall:
        check.expect(bool(gets) and gets[0].client_gave_up,
                     "the client did not abandon the stalled stream (no read timeout)")
    if case.gives_up_in_init:
        check.expect(report.get("ok") is False and ARCHIVE_URL in str(report.get("error")),
                     "INIT did not report giving up with the archive's URL")
        return f"INIT gave up after {ATTEMPTS} attempts (lazy), the request retried and was served"
    check.expect(report.get("ok") is True, f"INIT failed: {report.get('error')}")
    waited = f" (client gave up after {gets[0].seconds:.1f} s)" if case.stall and gets else ""
    return f"retried {case.faulted}x{waited}, served from INIT"


def _judge_permanent(check: Checks, case: FaultCase, first: InvokeResult, error: str, gets: list[Any],
                     line: str, alive: bool) -> str:
    check.expect(ARCHIVE_URL in error and all(w in error for w in case.fix_words),
                 f"the init report's error does not name the URL and the fix: {error!r}")
    check.expect(ARCHIVE_URL in line and all(w in line for w in case.fix_words),
                 "no log line names the URL and the fix")
    check.expect(not first.ok and ARCHIVE_URL in str(first.error_message),
                 f"the request did not get the error naming the URL ({first.error_type}: {first.error_message})")
    check.expect(alive, "the environment did not stay up after the failed build")
    check.expect(1 <= len(gets) <= 2, f"{len(gets)} GETs, expected one per build (INIT, the request's rebuild): "
                                      "a permanent fault must not be retried within a build")
    return f"INIT failed lazily (env kept); request got {first.error_type} naming the URL and the fix"


def scenarios(fast: bool, workdir: Path) -> list[Row]:
    """The archive-fault rows of the reliability table."""
    with open_lab(workdir, fast) as lab:
        return [run_case(lab, case) for case in cases(fast)]
