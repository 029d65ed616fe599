"""Where INIT time goes, import by import: ``python -X importtime`` of ``import handler``.

The profile is taken inside an emulated environment (``PYTHONPROFILEIMPORTTIME=1`` is the
environment form of ``-X importtime``), so it sees exactly Lambda's INIT: the task root's
sys.path, a private /tmp, the slim_handler download, and - with eager init - the imports
the app makes while it is built. awslambdaric loads the handler with ``importlib``, which
``-X importtime`` does not report, so the profiled function's handler is a two-line probe
whose ``import handler`` statement is reported, INIT's whole cost included. The profiled
environment is not one of the measured ones.

The same environment then serves the first request and the warm ones on the bench's paths,
with a profile hook (``sys.setprofile``) around the real ``lambda_handler`` that notes the
module of every function that runs: INIT's imports none of whose code ran are what the first
requests did not need (``unused_imports``). The probe lives in the profiled task root only
while the environment runs; nothing of it is in any package.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from zappa_eager.bench.function import INIT_TIMEOUT_S, FunctionSpec
from zappa_eager.bench.runner import init_failure
from zappa_eager.emulator import Emulator, EnvironmentBusy, EnvironmentDead

_LINE = re.compile(r"import time:\s*(\d+)\s*\|\s*(\d+)\s*\|( *)(\S.*?)\s*$")
PROBE_MODULE = "zappa_bench_importtime"
#: Marks the probe's log line after each request: the modules whose code that request ran (new ones only).
USED_MARK = "ZAPPA_BENCH_USED "
PROBE_SOURCE = (
    '"""zappa bench: profile INIT with -X importtime (an import statement is reported, importlib is not),\n'
    'then record the modules whose code the requests run (a profile hook around the real handler)."""\n'
    "import handler\n"
    "\n"
    "import json as _json\n"
    "import sys as _sys\n"
    "import threading as _threading\n"
    "\n"
    "_codes = set()\n"
    "_used = set()\n"
    "_told = set()\n"
    "_native_told = set()\n"
    "\n"
    "\n"
    "def _profile(frame, event, arg):\n"
    "    if event == 'call' and frame.f_code not in _codes:\n"
    "        _codes.add(frame.f_code)\n"
    "        _used.add(frame.f_globals.get('__name__'))\n"
    "\n"
    "\n"
    "def _native():\n"
    "    found = set()\n"
    "    for name, module in list(_sys.modules.items()):\n"
    "        origin = getattr(module, '__file__', None)\n"
    "        if origin is None or not str(origin).endswith(('.py', '.pyc')):\n"
    "            found.add(name)\n"
    "    return found\n"
    "\n"
    "\n"
    "def lambda_handler(event, context):\n"
    "    _sys.setprofile(_profile)\n"
    "    _threading.setprofile(_profile)\n"
    "    try:\n"
    "        return handler.lambda_handler(event, context)\n"
    "    finally:\n"
    "        _sys.setprofile(None)\n"
    "        _threading.setprofile(None)\n"
    "        used = sorted(name for name in _used - _told if isinstance(name, str))\n"
    "        native = sorted(_native() - _native_told)\n"
    "        _told.update(used)\n"
    "        _native_told.update(native)\n"
    f"        print({USED_MARK!r} + _json.dumps({{'used': used, 'native': native}}), flush=True)\n"
)


@dataclass(frozen=True)
class ImportRow:
    module: str
    self_us: int
    cumulative_us: int
    depth: int  # 0 = imported by the top level, 1 = by one of those, ...

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_importtime(text: str) -> list[ImportRow]:
    """Rows of ``import time: <self us> | <cumulative us> | <indented module>`` (the header is skipped)."""
    rows = []
    for line in text.splitlines():
        match = _LINE.search(line)
        if match:
            self_us, cumulative_us, indent, module = match.groups()
            rows.append(ImportRow(module, int(self_us), int(cumulative_us), max(len(indent) - 1, 0) // 2))
    return rows


def top_imports(rows: list[ImportRow], count: int = 15,
                by: Literal["cumulative", "self"] = "cumulative") -> list[ImportRow]:
    key = (lambda r: r.cumulative_us) if by == "cumulative" else (lambda r: r.self_us)
    return sorted(rows, key=key, reverse=True)[:count]


@dataclass
class ProfileRun:
    """The profiling environment's findings: INIT's imports, and what its first requests ran."""

    rows: list[ImportRow] = field(default_factory=list)
    error: str | None = None
    used: list[str] | None = None  # modules whose Python code the requests ran; None: not recorded
    native: list[str] = field(default_factory=list)  # modules with no Python code (builtin, extension)
    requests: int = 0  # requests served (first + warm)
    request_errors: list[str] = field(default_factory=list)


def parse_used(text: str) -> tuple[list[str], list[str]] | None:
    """The union of the probe's ``ZAPPA_BENCH_USED`` lines: (used modules, native modules); None without any."""
    used: set[str] = set()
    native: set[str] = set()
    found = False
    for line in text.splitlines():
        start = line.find(USED_MARK)
        if start < 0:
            continue
        try:
            entry = json.loads(line[start + len(USED_MARK):])
        except ValueError:
            continue
        if isinstance(entry, dict):
            found = True
            used.update(str(name) for name in entry.get("used") or [])
            native.update(str(name) for name in entry.get("native") or [])
    return (sorted(used), sorted(native)) if found else None


def profile_imports(task_root: Path, function: FunctionSpec, env: Mapping[str, str], *,
                    paths: Sequence[str] = (), warm: int = 0) -> ProfileRun:
    """INIT one extra environment of ``task_root`` with import profiling, then send it the first request
    (``paths[0]``) and ``warm`` more on ``paths`` (as the measured environments get them), recording the
    modules whose code they ran. Nothing of the probe is left in the task root."""
    probe = task_root / f"{PROBE_MODULE}.py"
    probe.write_text(PROBE_SOURCE, encoding="utf-8")
    run = ProfileRun()
    try:
        with Emulator(task_root, handler=f"{PROBE_MODULE}.lambda_handler", env=dict(env),
                      memory_mb=function.memory_mb, timeout_s=function.timeout_s, function_name=function.name,
                      region=function.region, init_timeout_s=INIT_TIMEOUT_S) as emulator:
            environment = emulator.start_environment("provisioned-concurrency",
                                                     env={"PYTHONPROFILEIMPORTTIME": "1"})
            init_logs = environment.logs()
            run.rows = parse_importtime(init_logs)
            error = environment.init_error
            if error is None and paths:
                for index in range(warm + 1):
                    try:
                        result = environment.invoke(function.event(paths[index % len(paths)]))
                    except (EnvironmentBusy, EnvironmentDead) as exc:
                        run.request_errors.append(str(exc)[:300])
                        break
                    run.requests += 1
                    if result.error is not None:
                        run.request_errors.append(f"{result.error_type}: {result.error_message}"[:300])
                        break
                found = parse_used(environment.logs()[len(init_logs):])
                if found is not None:
                    run.used, run.native = found
    finally:
        probe.unlink(missing_ok=True)
        for pyc in (task_root / "__pycache__").glob(f"{PROBE_MODULE}.*.pyc"):
            pyc.unlink()
    if error is not None:
        run.error = init_failure(error)
    elif not run.rows:
        run.error = "no import profile in the environment's output"
    return run


def handler_subtree(rows: Sequence[ImportRow]) -> list[ImportRow]:
    """The rows of ``import handler`` (INIT's whole cost) and of everything it imported; all rows without one."""
    ends = [index for index, row in enumerate(rows) if row.module == "handler"]
    if not ends:
        return list(rows)
    end = ends[-1]
    start = end
    while start > 0 and rows[start - 1].depth > rows[end].depth:  # children are printed before their parent
        start -= 1
    return list(rows[start:end + 1])


def _parents(rows: Sequence[ImportRow]) -> list[int | None]:
    """Each row's parent index: importtime prints a module after its children, one level shallower."""
    parents: list[int | None] = [None] * len(rows)
    waiting: dict[int, list[int]] = {}  # depth -> rows of that depth whose parent is not printed yet
    for index, row in enumerate(rows):
        for child in waiting.pop(row.depth + 1, []):
            parents[child] = index
        for deeper in [depth for depth in waiting if depth > row.depth + 1]:
            waiting.pop(deeper)  # their parent was never printed (cut log): leave them without one
        waiting.setdefault(row.depth, []).append(index)
    return parents


def _group(module: str, level: int) -> str | None:
    parts = module.split(".")
    return ".".join(parts[:level]) if len(parts) >= level else None


def _is_used(name: str, used: Iterable[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for module in used)


@dataclass(frozen=True)
class UnusedImport:
    """A package (or subpackage) INIT imported and the profiled requests never ran any code of."""

    module: str
    cumulative_us: int  # its imports' cumulative time (what they imported in turn included), counted once
    self_us: int  # the sum of its own modules' self time
    modules: int  # its modules imported in INIT

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def unused_imports(rows: Sequence[ImportRow], used: Iterable[str], native: Iterable[str] = (), *, level: int = 1,
                   skip: Iterable[str] = (), count: int = 15) -> list[UnusedImport]:
    """INIT's imports (``handler_subtree``) grouped by their first ``level`` name parts, the groups none of
    whose code the requests ran, by cumulative import time. A group whose modules are all ``native`` (no
    Python code to see run) is left out, as are groups inside ``skip``."""
    subtree = handler_subtree(rows)
    parents = _parents(subtree)
    used_names = set(used)
    native_names = set(native)
    skipped = tuple(skip)
    groups: dict[str, list[int]] = {}
    for index, row in enumerate(subtree):
        group = _group(row.module, level)
        if group is not None and group != "handler":
            groups.setdefault(group, []).append(index)
    found = []
    for group, members in groups.items():
        if _is_used(group, used_names) or any(group == s or group.startswith(s + ".") for s in skipped):
            continue
        if all(subtree[index].module in native_names for index in members):
            continue
        outermost = []
        for index in members:  # imports of the group not inside another import of the group
            parent = parents[index]
            while parent is not None and _group(subtree[parent].module, level) != group:
                parent = parents[parent]
            if parent is None:
                outermost.append(index)
        found.append(UnusedImport(group, sum(subtree[index].cumulative_us for index in outermost),
                                  sum(subtree[index].self_us for index in members), len(members)))
    return sorted(found, key=lambda item: item.cumulative_us, reverse=True)[:count]
