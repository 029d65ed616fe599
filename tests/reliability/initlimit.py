"""INIT past Lambda's on-demand limit: cut, then run again inside the first invoke - and still served.

Lambda gives an on-demand INIT 10 s; past that it stops the runtime and runs INIT again at
the first invocation, under the function timeout, in the same environment, so /tmp keeps
whatever the first attempt wrote. The emulator does the same (``init_timeout_s``: the real
10 s in the full set, 3 s in the fast set). Two ways INIT outlasts the limit:

* **the download**: the proxy trickles the first GET of the archive so it needs three times
  the limit; the cut leaves a half-unpacked folder in /tmp that the second INIT must neither
  import from nor trip over, and it downloads once more (the first copy never completed);
* **the app**: the first INIT finishes the unpack, then blocks in the app's settings until
  the cut; the second INIT must reuse the complete unpack (no second download) and serve.

Goals: the first request is served; its REPORT has no Init Duration (its Duration covers the
second INIT); /tmp ends with exactly the complete project; no unpack beyond what is needed.
Tooling module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.reliability.djangoapp import home_event
from tests.reliability.faultproxy import Fault
from tests.reliability.lab import (
    ARCHIVE_PATH,
    ARCHIVE_URL,
    FAST_ARCHIVE,
    FULL_ARCHIVE,
    Lab,
    inspect_tmp,
    log_line,
    served,
)
from tests.reliability.rows import Checks, Row
from zappa_eager.emulator import Environment

GROUP = "limits"
#: Lambda's on-demand INIT limit, used by the full set; the fast set cuts at FAST_LIMIT_S.
LAMBDA_LIMIT_S = 10.0
FAST_LIMIT_S = 3.0
#: The settings module the slow app loads (in the project archive, beside relsite).
SLOW_SETTINGS = "relslow_settings"
ATTEMPTS_FILE = "relslow-attempts"
SLOW_SETTINGS_SOURCE = f'''"""relsite's settings behind an app whose INIT outlasts Lambda's limit once.

Each INIT appends its pid to /tmp/{ATTEMPTS_FILE}; the first one then blocks for
RELSLOW_BLOCK_S seconds (longer than the init limit), so Lambda cuts it. The INIT run again
inside the first invoke goes straight through.
"""

import os
import time

from relsite.settings import *  # noqa: F401,F403

_ATTEMPTS = "/tmp/{ATTEMPTS_FILE}"
with open(_ATTEMPTS, "a") as _file:
    _file.write(f"{{os.getpid()}}\\n")
with open(_ATTEMPTS) as _file:
    INIT_ATTEMPT = len(_file.read().split())
if INIT_ATTEMPT == 1:
    time.sleep(float(os.environ.get("RELSLOW_BLOCK_S", "0")))
'''


@dataclass(frozen=True)
class LimitCase:
    name: str
    slow_download: bool  # else the app blocks after the unpack


CASES = (
    LimitCase("download outruns the INIT limit (trickled to 3x the limit)", slow_download=True),
    LimitCase("app INIT outruns the limit after the unpack", slow_download=False),
)


def open_lab(workdir: Path, fast: bool) -> Lab:
    return Lab(workdir, FAST_ARCHIVE if fast else FULL_ARCHIVE, name="limits",
               stage={"django_settings": SLOW_SETTINGS}, extra={f"{SLOW_SETTINGS}.py": SLOW_SETTINGS_SOURCE})


def limit_s(fast: bool) -> float:
    return FAST_LIMIT_S if fast else LAMBDA_LIMIT_S


def run_case(lab: Lab, case: LimitCase, fast: bool) -> Row:
    limit = limit_s(fast)
    before = len(lab.gets())
    if case.slow_download:
        rate = max(1, int(len(lab.project.data) / (3 * limit)))  # the download needs 3x the limit
        lab.faults.inject(Fault("throttle", path=ARCHIVE_PATH, rate_bps=rate))
    block = "0" if case.slow_download else f"{limit * 1.5:.1f}"
    try:
        # The emulator's default limit is Lambda's own; the fast set cuts earlier to stay quick.
        with lab.emulator(env={"RELSLOW_BLOCK_S": block}, init_timeout_s=limit if fast else None) as emu:
            env = emu.start_environment("on-demand")
            first = env.invoke(home_event())
            gets = lab.gets()[before:]
            tmp = inspect_tmp(env, lab.project, allowed=(ATTEMPTS_FILE,))
            attempts = _attempts(env)
            logs = env.logs()
            reused = log_line(env, "reusing the complete unpack", ARCHIVE_URL)
            reports = env.init_reports()
    finally:
        lab.faults.clear()

    check = Checks()
    check.expect(served(first), f"the first request was not served ({first.error_type}: {first.error_message})")
    check.expect("Phase: init\tStatus: timeout" in logs, f"INIT was not cut at the {limit:.0f} s limit")
    check.expect(first.reinit_duration_ms is not None and "Init Duration" not in first.report_line,
                 f"the REPORT does not show INIT run again inside the invoke: {first.report_line}")
    check.expect(len(reports) == 1 and reports[0].get("ok") is True,
                 f"expected one successful init report (the second INIT), got {reports}")
    check.expect(tmp.project_complete and tmp.clean, f"/tmp is not exactly the complete project: {tmp}")
    if case.slow_download:
        check.expect(len(gets) == 2, f"{len(gets)} GETs: expected the cut one and one complete")
        check.expect(bool(gets) and gets[0].body_bytes < (gets[0].content_length or 0) and gets[0].client_gave_up,
                     "the first download was not cut mid-stream by the INIT limit")
        got, size = (gets[0].body_bytes / 1e6 if gets else 0.0), len(lab.project.data) / 1e6
        how = f"1st INIT cut at {limit:.0f} s after {got:.1f} of {size:.1f} MB; 2nd INIT downloaded again"
    elif attempts >= 2:  # the first INIT reached the app: its unpack was complete and must be reused
        check.expect(len(gets) == 1 and bool(reused), f"{len(gets)} GETs, reuse logged: {bool(reused)} - "
                                                      "the complete unpack of the cut INIT was not reused")
        how = f"1st INIT unpacked, blocked in the app, cut at {limit:.0f} s; 2nd INIT reused the unpack (1 GET)"
    else:  # the machine was too slow for the first INIT to reach the app: it was cut earlier
        check.expect(len(gets) == 2, f"{len(gets)} GETs after a cut before the app")
        how = "1st INIT cut before the app (slow machine); 2nd INIT unpacked once more"
    reinit = first.reinit_duration_ms or 0.0
    outcome = (f"{how}; served (REPORT Duration {first.duration_ms / 1000:.1f} s incl. 2nd INIT "
               f"{reinit / 1000:.1f} s, no Init Duration)")
    return Row(group=GROUP, scenario=f"{case.name}, limit {limit:.0f} s", outcome=outcome, met=check.met,
               time_ms=first.latency_ms, tmp_left=list(tmp.leftovers), connections_left=None,
               detail=check.detail(first.report_line.replace("\t", "  ")))


def _attempts(env: Environment) -> int:
    try:
        return len((env.tmp_dir / ATTEMPTS_FILE).read_text().split())
    except OSError:
        return 0


def scenarios(fast: bool, workdir: Path) -> list[Row]:
    """The INIT-limit rows of the reliability table."""
    with open_lab(workdir, fast) as lab:
        return [run_case(lab, case, fast) for case in CASES]
