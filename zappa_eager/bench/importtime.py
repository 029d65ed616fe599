"""Where INIT time goes, import by import: ``python -X importtime`` of ``import handler``.

The profile is taken inside an emulated environment (``PYTHONPROFILEIMPORTTIME=1`` is the
environment form of ``-X importtime``), so it sees exactly Lambda's INIT: the task root's
sys.path, a private /tmp, the slim_handler download, and - with eager init - the imports
the app makes while it is built. awslambdaric loads the handler with ``importlib``, which
``-X importtime`` does not report, so the profiled function's handler is a two-line probe
whose ``import handler`` statement is reported, INIT's whole cost included. The profiled
environment is not one of the measured ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from zappa_eager.bench.function import INIT_TIMEOUT_S, FunctionSpec
from zappa_eager.bench.runner import init_failure
from zappa_eager.emulator import Emulator

_LINE = re.compile(r"import time:\s*(\d+)\s*\|\s*(\d+)\s*\|( *)(\S.*?)\s*$")
PROBE_MODULE = "zappa_bench_importtime"
PROBE_SOURCE = (
    '"""zappa bench: profile INIT with -X importtime (an import statement is reported, importlib is not)."""\n'
    "import handler\n\n"
    "lambda_handler = handler.lambda_handler\n"
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


def profile_imports(task_root: Path, function: FunctionSpec, env: Mapping[str, str]) -> tuple[list[ImportRow],
                                                                                               str | None]:
    """INIT one extra environment of ``task_root`` with import profiling; (rows, error or None)."""
    probe = task_root / f"{PROBE_MODULE}.py"
    probe.write_text(PROBE_SOURCE, encoding="utf-8")
    try:
        with Emulator(task_root, handler=f"{PROBE_MODULE}.lambda_handler", env=dict(env),
                      memory_mb=function.memory_mb, timeout_s=function.timeout_s, function_name=function.name,
                      region=function.region, init_timeout_s=INIT_TIMEOUT_S) as emulator:
            environment = emulator.start_environment("provisioned-concurrency",
                                                     env={"PYTHONPROFILEIMPORTTIME": "1"})
            rows = parse_importtime(environment.logs())
            error = environment.init_error
    finally:
        probe.unlink(missing_ok=True)
    if error is not None:
        return rows, init_failure(error)
    return rows, None if rows else "no import profile in the environment's output"
