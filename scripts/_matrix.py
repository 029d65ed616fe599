"""scripts/test's driver: the default cell (lint, types, the whole suite), then a compact matrix of
other Pythons and Django release lines, each in its own virtualenv, and a table of what ran.

Standard library only: it runs before any virtualenv exists. See ``scripts/test --help``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "django_app"
ALLOW_ENV = "ZAPPA_EAGER_ALLOW_MISSING_PYTHON"
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
#: The e2e tests the Python 3.12 cell runs: the bench smoke test and SnapStart (3.12+ only). The demo (8 min)
#: runs in the default cell only, to keep CI well inside its 90 minutes on 2 cores.
E2E_312 = ["tests/bench/test_bench_e2e.py", "tests/runtime/test_snapstart.py"]
#: The default cell's e2e step leaves out what another cell runs anyway (the bench smoke test: 5 min).
E2E_ELSEWHERE = ["tests/bench/test_bench_e2e.py"]
#: The suite without e2e runs in parallel workers (pytest-xdist), one per CPU, at most 4; the e2e tests
#: run one at a time: they use every CPU themselves (the bench, the demo) and their subprocesses share ports.
PARALLEL = ["-n", "auto", "--maxprocesses", "4"]

USAGE = f"""\
usage: scripts/test [--default-only | --matrix-only] [--cell NAME]... [--allow-missing-python] [--list]
                    [--] [pytest args for the default cell's suite...]

Runs the README's test command: the default cell, then the matrix cells, then a summary table.
  default            the default interpreter (PYTHON, else python3) in .venv with Django 5.2 LTS:
                     ruff, mypy, the example app's tests and the suite: without e2e in parallel
                     workers, then e2e one at a time (the bench smoke test runs in py3.12 only);
                     pytest args given here replace that with one run, e.g. -m "not e2e"
  py3.12-django6.1   the suite without e2e, the example app's tests, and the e2e bench and
                     SnapStart tests (the stage runtime follows the interpreter: python3.12)
  py3.13-django6.0   the suite without e2e, the example app's tests, and the SnapStart e2e test
  py3.10-django4.2   the suite without e2e and the example app's tests (Django 4.2 LTS)
  py3.14-django6.1   as py3.13, only where a Python 3.14 is installed (optional, reported either way)
Each matrix cell has its own virtualenv (.venv-<cell>), created on first use; its Django line is
pinned with a pip constraint (ZAPPA_EAGER_DJANGO, see scripts/_venv), so the cell's name is true.
Interpreters are found by version: ZAPPA_EAGER_PYTHON_3_12=/path/to/python, else pyenv's
$(pyenv root)/versions/3.12.*, else python3.12 on PATH.

options:
  --default-only          run only the default cell (the old scripts/test)
  --matrix-only           run only the matrix cells
  --cell NAME             run only this cell (repeatable)
  --allow-missing-python  a required interpreter that is missing is reported, not a failure
                          (also {ALLOW_ENV}=1)
  --list                  print the cells and the interpreters found, run nothing
A missing required interpreter fails the run before anything runs, unless allowed.
"""


@dataclass(frozen=True)
class Step:
    label: str
    argv: tuple[str, ...]  # "{bin}" is replaced by the cell's virtualenv bin folder
    cwd: Path = ROOT
    pytest: bool = True


@dataclass(frozen=True)
class Cell:
    name: str
    python: str | None  # "3.12"; None: the default interpreter
    django: str  # the release line pinned by a constraint: "6.1", "4.2"
    steps: tuple[Step, ...]
    optional: bool = False

    @property
    def venv(self) -> Path:
        if self.python is None:
            return Path(os.environ.get("ZAPPA_EAGER_VENV", ROOT / ".venv"))
        return ROOT / f".venv-{self.name}"


@dataclass
class Result:
    label: str
    ok: bool
    seconds: float
    passed: int | None = None
    failed: int | None = None
    skipped: int = 0
    note: str = ""


@dataclass
class Outcome:
    cell: Cell
    python: str = "-"
    django: str = "-"
    results: list[Result] = field(default_factory=list)
    not_run: str = ""  # why the cell did not run
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.not_run and all(r.ok for r in self.results)


def example_step() -> Step:
    return Step("example app tests (examples/django_app)", ("{bin}/python", *PYTEST), EXAMPLE)


def suite_step(label: str, *args: str) -> Step:
    return Step(label, ("{bin}/python", *PYTEST, *args))


def default_suite(pytest_args: list[str]) -> tuple[Step, ...]:
    """The whole suite: without e2e in parallel, then e2e one at a time; given pytest args, one step with them."""
    if pytest_args:
        return (suite_step(f"zappa-eager suite ({' '.join(pytest_args)})", *pytest_args),)
    elsewhere = [f"--ignore={path}" for path in E2E_ELSEWHERE]
    return (suite_step("zappa-eager suite, not e2e (parallel)", "-m", "not e2e", *PARALLEL),
            suite_step("zappa-eager suite, e2e (bench smoke: py3.12 cell)", "-m", "e2e", *elsewhere))


def cells(pytest_args: list[str]) -> list[Cell]:
    non_e2e = suite_step("zappa-eager suite, not e2e (parallel)", "-m", "not e2e", *PARALLEL)
    return [
        Cell("default", None, "5.2", (
            Step("ruff", ("{bin}/ruff", "check", "."), pytest=False),
            Step("mypy", ("{bin}/mypy",), pytest=False),
            example_step(),
            *default_suite(pytest_args),
        )),
        Cell("py3.12-django6.1", "3.12", "6.1", (
            example_step(), non_e2e, suite_step("e2e: bench, SnapStart", *E2E_312))),
        Cell("py3.13-django6.0", "3.13", "6.0", (
            example_step(), non_e2e, suite_step("e2e: SnapStart", "tests/runtime/test_snapstart.py"))),
        Cell("py3.10-django4.2", "3.10", "4.2", (example_step(), non_e2e)),
        Cell("py3.14-django6.1", "3.14", "6.1", (
            example_step(), non_e2e, suite_step("e2e: SnapStart", "tests/runtime/test_snapstart.py")), optional=True),
    ]


def _version_of(executable: str) -> str | None:
    try:
        proc = subprocess.run([executable, "-c", "import sys, venv, ensurepip; print(sys.version.split()[0])"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _pyenv_root() -> Path | None:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    if shutil.which("pyenv"):
        proc = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            return Path(proc.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def find_python(version: str) -> tuple[str | None, str, str]:
    """(executable, full version, how it was found) or (None, "", what was tried)."""
    tried: list[str] = []
    variable = "ZAPPA_EAGER_PYTHON_" + version.replace(".", "_")
    candidates: list[tuple[str, str]] = []
    if os.environ.get(variable):
        candidates.append((os.environ[variable], variable))
    else:
        tried.append(f"{variable} not set")
    root = _pyenv_root()
    if root is not None:
        pattern = re.compile(rf"^{re.escape(version)}\.(\d+)$")
        found = sorted(((int(m.group(1)), p) for p in (root / "versions").glob(f"{version}.*")
                        if (m := pattern.match(p.name))), reverse=True)
        candidates += [(str(p / "bin" / "python"), f"pyenv {p.name}") for _, p in found]
        if not found:
            tried.append(f"pyenv ({root}) has no versions/{version}.*")
    else:
        tried.append("no pyenv")
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append((on_path, f"python{version} on PATH"))
    else:
        tried.append(f"python{version} not on PATH")
    for executable, how in candidates:
        full = _version_of(executable)
        if full is not None and full.startswith(version + "."):
            return executable, full, how
        tried.append(f"{executable} ({how}) is not a working Python {version} with venv")
    return None, "", "; ".join(tried)


def banner(text: str) -> None:
    print(f"\n\033[1m{text}\033[0m", flush=True)


def loud(text: str) -> None:
    print(f"\033[1;31m!! {text}\033[0m", flush=True)


def junit_counts(path: Path) -> tuple[int, int, int] | None:
    """(passed, failed, skipped) from pytest's JUnit XML, or None when pytest wrote none."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = failed = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return tests - failed - skipped, failed, skipped


def run_step(cell: Cell, step: Step, env: dict[str, str], scratch: Path) -> Result:
    argv = [a.replace("{bin}", str(cell.venv / "bin")) for a in step.argv]
    junit = scratch / f"{cell.name}-{len(list(scratch.iterdir()))}.xml"
    if step.pytest:
        argv.append(f"--junitxml={junit}")
    banner(f"==> [{cell.name}] {step.label}")
    started = time.monotonic()
    code = subprocess.run(argv, cwd=step.cwd, env=env).returncode
    seconds = time.monotonic() - started
    if not step.pytest:
        return Result(step.label, code == 0, seconds, note="" if code == 0 else f"exit {code}")
    counts = junit_counts(junit)
    if counts is None:
        return Result(step.label, False, seconds, note=f"pytest exit {code}, no report")
    passed, failed, skipped = counts
    # No skipped tests (the guide): a skip counts as a failure of the cell; so does an empty run.
    ok = code == 0 and failed == 0 and skipped == 0 and passed > 0
    note = "" if ok else f"pytest exit {code}" + (f", {skipped} skipped" if skipped else "")
    return Result(step.label, ok, seconds, passed, failed, skipped, note)


def setup_venv(cell: Cell, python: str) -> tuple[dict[str, str], Result]:
    """Create/refresh the cell's virtualenv through scripts/_venv; the environment its steps run in."""
    env = dict(os.environ, ZAPPA_EAGER_VENV=str(cell.venv), ZAPPA_EAGER_DJANGO=cell.django, PYTHON=python)
    if cell.python is not None and (cell.venv / "bin" / "python").exists():
        have = _version_of(str(cell.venv / "bin" / "python")) or ""
        if not have.startswith(cell.python + "."):  # ours, named after the cell: rebuild it
            print(f"==> {cell.venv} holds Python {have or '?'}, not {cell.python}: recreating it")
            shutil.rmtree(cell.venv)
    banner(f"==> [{cell.name}] virtualenv {cell.venv}")
    started = time.monotonic()
    code = subprocess.run(["bash", str(ROOT / "scripts" / "_venv")], cwd=ROOT, env=env).returncode
    result = Result("virtualenv", code == 0, time.monotonic() - started, note="" if code == 0 else f"exit {code}")
    env.update(VIRTUAL_ENV=str(cell.venv), PATH=f"{cell.venv / 'bin'}:{env['PATH']}",
               PIP_CONSTRAINT=str(cell.venv / "django-constraint.txt"))
    env.pop("PYTHONHOME", None)
    return env, result


def versions(venv: Path) -> tuple[str, str]:
    proc = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import sys, django; print(sys.version.split()[0], django.get_version())"],
                          capture_output=True, text=True)
    parts = proc.stdout.split()
    return (parts[0], parts[1]) if proc.returncode == 0 and len(parts) == 2 else ("?", "?")


def run_cell(cell: Cell, python: str, scratch: Path) -> Outcome:
    outcome = Outcome(cell)
    started = time.monotonic()
    env, setup = setup_venv(cell, python)
    outcome.results.append(setup)
    if setup.ok:
        outcome.python, outcome.django = versions(cell.venv)
        wanted = cell.django + "."
        if not (outcome.django + ".").startswith(wanted):
            outcome.results.append(Result("Django line", False, 0.0,
                                          note=f"got Django {outcome.django}, the cell needs {cell.django}.x"))
        else:
            banner(f"==> [{cell.name}] Python {outcome.python} ({cell.venv / 'bin' / 'python'}), "
                   f"Django {outcome.django}")
            for step in cell.steps:
                outcome.results.append(run_step(cell, step, env, scratch))
    outcome.seconds = time.monotonic() - started
    result_line(outcome)
    return outcome


def result_line(outcome: Outcome) -> None:
    verdict = "passed" if outcome.ok else "FAILED"
    counts = [r for r in outcome.results if r.passed is not None]
    passed = sum(r.passed or 0 for r in counts)
    failed = sum(r.failed or 0 for r in counts)
    banner(f"==> [{outcome.cell.name}] {verdict}: Python {outcome.python}, Django {outcome.django}, "
           f"{passed} passed, {failed} failed, {minutes(outcome.seconds)}")


def minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def summary(outcomes: list[Outcome], total_s: float) -> None:
    banner("==> scripts/test summary")
    header = f"{'cell':<18} {'python':<8} {'django':<8} {'step':<44} {'passed':>6} {'failed':>6} {'time':>12}  result"
    print(header)
    print("-" * len(header))
    for outcome in outcomes:
        first = f"{outcome.cell.name:<18} {outcome.python:<8} {outcome.django:<8}"
        blank = " " * len(first)
        if outcome.not_run:
            print(f"{first} NOT RUN: {outcome.not_run}")
            continue
        for index, r in enumerate(outcome.results):
            passed = "-" if r.passed is None else str(r.passed)
            failed = "-" if r.failed is None else str(r.failed)
            verdict = "ok" if r.ok else "FAILED" + (f" ({r.note})" if r.note else "")
            print(f"{first if index == 0 else blank} {r.label[:44]:<44} {passed:>6} {failed:>6} "
                  f"{minutes(r.seconds):>12}  {verdict}")
        counted = [r for r in outcome.results if r.passed is not None]
        print(f"{blank} {'= cell':<44} {sum(r.passed or 0 for r in counted):>6} "
              f"{sum(r.failed or 0 for r in counted):>6} {minutes(outcome.seconds):>12}  "
              f"{'passed' if outcome.ok else 'FAILED'}")
    ran = [o for o in outcomes if not o.not_run]
    failed_cells = [o.cell.name for o in ran if not o.ok]
    missing = [o.cell.name for o in outcomes if o.not_run]
    print(f"\n{len(ran)} cell(s) run, {len(failed_cells)} failed"
          + (f" ({', '.join(failed_cells)})" if failed_cells else "")
          + (f"; NOT RUN: {', '.join(missing)}" if missing else "") + f"; total {minutes(total_s)}")


@dataclass
class Options:
    default_only: bool = False
    matrix_only: bool = False
    cells: list[str] = field(default_factory=list)
    list_only: bool = False
    allow_missing: bool = field(default_factory=lambda: os.environ.get(ALLOW_ENV, "") not in ("", "0"))


def parse(argv: list[str]) -> tuple[Options, list[str]]:
    """Our options anywhere on the line; everything else (and all after ``--``) goes to pytest."""
    options = Options()
    rest: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--":
            rest += args
            break
        if arg in ("-h", "--help"):
            print(USAGE)
            raise SystemExit(0)
        if arg == "--default-only":
            options.default_only = True
        elif arg == "--matrix-only":
            options.matrix_only = True
        elif arg == "--allow-missing-python":
            options.allow_missing = True
        elif arg == "--list":
            options.list_only = True
        elif arg == "--cell" or arg.startswith("--cell="):
            value = arg.split("=", 1)[1] if "=" in arg else (args.pop(0) if args else "")
            if not value:
                raise SystemExit("scripts/test: --cell needs a cell name (see --list)")
            options.cells.append(value)
        else:
            rest.append(arg)
    if options.default_only and options.matrix_only:
        raise SystemExit("scripts/test: --default-only and --matrix-only exclude each other")
    return options, rest


def main(argv: list[str]) -> int:
    options, pytest_args = parse(argv)
    every = cells(pytest_args)
    chosen = every
    names = options.cells
    if names:
        unknown = sorted(set(names) - {c.name for c in every})
        if unknown:
            raise SystemExit(f"scripts/test: unknown cell(s) {', '.join(unknown)}; cells: "
                             + ", ".join(c.name for c in every))
        chosen = [c for c in every if c.name in names]
    elif options.default_only:
        chosen = every[:1]
    elif options.matrix_only:
        chosen = every[1:]
    if pytest_args and every[0] not in chosen:
        raise SystemExit(f"scripts/test: pytest args ({' '.join(pytest_args)}) apply to the default cell, "
                         "which this run leaves out")

    # Find every interpreter first: a missing one fails now, not after half an hour of tests.
    plan: list[tuple[Cell, str]] = []
    outcomes: list[Outcome] = []
    missing_required: list[str] = []
    banner("==> scripts/test plan")
    for cell in chosen:
        if cell.python is None:
            python = os.environ.get("PYTHON", "python3")
            print(f"  {cell.name:<18} {python} ({_version_of(python) or 'not working'}), Django {cell.django}, "
                  f"{cell.venv}")
            plan.append((cell, python))
            continue
        executable, full, how = find_python(cell.python)
        if executable is None:
            kind = "optional cell" if cell.optional else "required cell"
            reason = f"no Python {cell.python} ({how}); {kind}"
            print(f"  {cell.name:<18} NOT AVAILABLE: {reason}")
            outcomes.append(Outcome(cell, not_run=reason))
            if not cell.optional:
                missing_required.append(cell.name)
            continue
        print(f"  {cell.name:<18} Python {full} ({executable}, {how}), Django {cell.django}.x, {cell.venv.name}")
        plan.append((cell, executable))
    if options.list_only:
        return 0
    if missing_required:
        if not options.allow_missing:
            loud(f"missing interpreter(s) for {', '.join(missing_required)}: install them (e.g. `pyenv install "
                 f"3.X`), point ZAPPA_EAGER_PYTHON_3_X at one, or allow it with --allow-missing-python / "
                 f"{ALLOW_ENV}=1")
            return 2
        loud(f"NOT RUNNING {', '.join(missing_required)}: interpreter missing, allowed by "
             f"--allow-missing-python / {ALLOW_ENV}")

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zappa-eager-test-") as scratch:
        for cell, python in plan:
            outcomes.append(run_cell(cell, python, Path(scratch)))
    order = {c.name: i for i, c in enumerate(every)}
    outcomes.sort(key=lambda o: order[o.cell.name])
    summary(outcomes, time.monotonic() - started)
    for outcome in outcomes:
        if outcome.not_run and not outcome.cell.optional:
            loud(f"{outcome.cell.name} NOT RUN: {outcome.not_run} (allowed)")
    failed = any(not o.ok for o in outcomes if not o.not_run)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
