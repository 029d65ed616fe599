"""scripts/test's matrix driver: interpreters found by version, a missing one fails the run
unless allowed, and pytest's counts read from its own JUnit report."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "_matrix.py"


def load_driver() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scripts_matrix", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def fake_pyenv(tmp_path: Path) -> Path:
    """A pyenv root with this interpreter as the newest working patch of its version, and a broken newer one."""
    root = tmp_path / "pyenv"
    major, minor, micro = sys.version_info[:3]
    good = root / "versions" / f"{major}.{minor}.{micro}" / "bin"
    good.mkdir(parents=True)
    (good / "python").symlink_to(sys.executable)
    broken = root / "versions" / f"{major}.{minor}.{micro + 1}" / "bin"
    broken.mkdir(parents=True)
    (broken / "python").write_text("#!/bin/sh\nexit 1\n")
    (broken / "python").chmod(0o755)
    (root / "versions" / f"{major}.{minor}.{micro}rc1").mkdir()  # not a release: never picked
    return root


def test_find_python_takes_the_newest_working_pyenv_patch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    driver = load_driver()
    root = fake_pyenv(tmp_path)
    monkeypatch.setenv("PYENV_ROOT", str(root))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    monkeypatch.delenv("ZAPPA_EAGER_PYTHON_" + version.replace(".", "_"), raising=False)

    executable, full, how = driver.find_python(version)
    assert executable == str(root / "versions" / full / "bin" / "python")
    assert full == sys.version.split()[0] and how == f"pyenv {full}"

    missing, _, tried = driver.find_python("3.99")
    assert missing is None
    assert f"pyenv ({root}) has no versions/3.99.*" in tried and "python3.99 not on PATH" in tried


def test_an_explicit_interpreter_that_is_another_version_is_not_taken(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    driver = load_driver()
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("ZAPPA_EAGER_PYTHON_3_99", sys.executable)
    executable, _, tried = driver.find_python("3.99")
    assert executable is None
    assert f"{sys.executable} (ZAPPA_EAGER_PYTHON_3_99) is not a working Python 3.99" in tried


def run_driver(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ZAPPA_EAGER_")}
    environment.update(PYENV_ROOT=str(tmp_path / "no-pyenv"), PATH=str(tmp_path / "empty"), **env)
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=60)


def test_a_missing_interpreter_fails_the_run_before_anything_runs(tmp_path: Path) -> None:
    proc = run_driver(tmp_path, "--cell", "py3.10-django4.2", "--cell", "py3.14-django6.1")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "py3.10-django4.2   NOT AVAILABLE: no Python 3.10" in proc.stdout
    assert "missing interpreter(s) for py3.10-django4.2:" in proc.stdout  # 3.14 is optional: not named
    assert "==> [py3.10-django4.2] virtualenv" not in proc.stdout


def test_an_allowed_missing_interpreter_is_reported_in_the_summary(tmp_path: Path) -> None:
    proc = run_driver(tmp_path, "--cell", "py3.10-django4.2", ZAPPA_EAGER_ALLOW_MISSING_PYTHON="1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "!! NOT RUNNING py3.10-django4.2: interpreter missing, allowed" in proc.stdout
    assert "py3.10-django4.2   -        -        NOT RUN: no Python 3.10" in proc.stdout
    assert "0 cell(s) run, 0 failed; NOT RUN: py3.10-django4.2" in proc.stdout


def test_options_and_pytest_args_are_told_apart(tmp_path: Path) -> None:
    driver = load_driver()
    options, rest = driver.parse(["-m", "not e2e", "--cell=py3.12-django6.1", "--allow-missing-python", "--", "-x"])
    assert rest == ["-m", "not e2e", "-x"] and options.cells == ["py3.12-django6.1"] and options.allow_missing
    proc = run_driver(tmp_path, "--matrix-only", "-k", "x")
    assert proc.returncode == 1 and "apply to the default cell, which this run leaves out" in proc.stderr
    proc = run_driver(tmp_path, "--cell", "py2.7")
    assert proc.returncode == 1 and "unknown cell(s) py2.7" in proc.stderr


def test_counts_come_from_pytests_junit_report(tmp_path: Path) -> None:
    driver = load_driver()
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n"
        "def test_a(): pass\n"
        "def test_b(): pass\n"
        "def test_c(): assert False\n"
        "@pytest.fixture\n"
        "def broken(): raise RuntimeError\n"
        "def test_d(broken): pass\n"
        "def test_e(): pytest.skip('x')\n"
    )
    report = tmp_path / "report.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                    "test_sample.py"], cwd=tmp_path, capture_output=True, check=False)
    assert driver.junit_counts(report) == (2, 2, 1)  # passed, failed (a failure and an error), skipped
    assert driver.junit_counts(tmp_path / "absent.xml") is None


def test_every_e2e_test_file_runs_in_some_cell() -> None:
    """The default cell leaves e2e files to other cells only when a required cell runs them."""
    driver = load_driver()
    steps = [(cell, step) for cell in driver.cells([]) if not cell.optional for step in cell.steps]
    ignored = {arg.removeprefix("--ignore=") for cell, step in steps if cell.name == "default"
               for arg in step.argv if arg.startswith("--ignore=")}
    assert ignored == set(driver.E2E_ELSEWHERE)
    for path in ignored:
        elsewhere = [cell.name for cell, step in steps if cell.name != "default" and path in step.argv]
        assert elsewhere, f"{path} is left out of the default cell but no other required cell runs it"


def test_the_suite_without_e2e_runs_in_parallel_and_e2e_does_not() -> None:
    driver = load_driver()
    for cell in driver.cells([]):
        for step in cell.steps:
            if "not e2e" in step.argv:
                assert "-n" in step.argv, (cell.name, step.label)
            elif "-m" in step.argv or any(a.startswith("tests/test_") for a in step.argv):
                assert "-n" not in step.argv, (cell.name, step.label)
    given = driver.cells(["-k", "settings"])[0].steps
    assert [s.argv[-2:] for s in given if s.pytest and s.cwd == REPO] == [("-k", "settings")]
