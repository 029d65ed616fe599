"""A slow baseline is a measurement, a failing zappa-eager mode is a failure, a busy machine is neither.

The real ``zappa bench`` (``--zip`` of a small package: no packaging) on a WSGI app whose import
takes a few seconds of CPU, as a big Django project's does. Upstream zappa builds the app in the
first request, so with a function timeout shorter than the import, upstream's requests time out
for real in the emulator (``Sandbox.Timedout``, the environment killed); zappa-eager builds it
during INIT, under the INIT limit, and serves. With an INIT limit shorter than the import, the
eager modes fail (and upstream-env's INIT is cut too: a measurement).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bench.test_bench_environment import PACKAGES, _add_tree
from tests.conftest import REPO, RUNTIME_FILES
from zappa_eager.bench.machine import usable_cpus

pytestmark = pytest.mark.e2e

#: Seconds of CPU the app's import takes (the function timeout below is shorter).
IMPORT_S = 2.5
SLOW_APP = f'''\
"""An app whose import computes for {IMPORT_S} s (a large project's import), then serves "ok"."""
import time

_until = time.process_time() + {IMPORT_S}
while time.process_time() < _until:
    pass


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
'''


@pytest.fixture(scope="module")
def slow_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    package = tmp_path_factory.mktemp("slowapp") / "slowapp-dev.zip"
    with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("slowapp.py", SLOW_APP)
        archive.writestr("handler.py", (REPO / "zappa_eager" / "runtime" / "handler.py").read_text())
        archive.writestr("zappa_settings.py", "SLIM_HANDLER=False\n")
        for module in RUNTIME_FILES:
            archive.write(REPO / "zappa_eager" / module, f"zappa_eager/{module}")
        for name in PACKAGES:
            spec = importlib.util.find_spec(name)
            assert spec is not None and spec.origin is not None, name
            locations = spec.submodule_search_locations
            source = Path(next(iter(locations))) if locations else Path(spec.origin)
            _add_tree(archive, source, source.name)
    return package


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "slowapp"
    folder.mkdir()
    (folder / "zappa_settings.json").write_text(json.dumps({"dev": {
        "app_function": "slowapp.app", "project_name": "slowapp", "s3_bucket": "zappa-eager-tests",
        "aws_region": "us-east-1", "keep_warm": False, "timeout_seconds": 1,
    }}))
    monkeypatch.chdir(folder)
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    return folder


def run_bench(project: Path, package: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    from zappa_eager.bench import run_bench_command
    from zappa_eager.cli import EagerZappaCLI

    code = run_bench_command(EagerZappaCLI(), [
        "dev", "--zip", str(package), "--environments", "1", "--warm", "2", "--idle", "0", "--unpack-runs", "0",
        "--output", str(project / "out"), *extra])
    return code, json.loads((project / "out" / "bench.json").read_text())


def test_a_baseline_that_times_out_is_reported_and_the_run_succeeds(
        project: Path, slow_package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_bench(project, slow_package, "--modes", "upstream,upstream-env,eager", "--burst", "2",
                          "--burst-envs", "1", "--no-proactive")  # the proactive pattern's timeouts: below
    out = capsys.readouterr().out
    assert code == 0, out
    assert doc["schema"] == "zappa-eager-bench/4" and doc["errors"] == []
    upstream = doc["modes"]["upstream"]
    # Upstream built the app in the first request, past the 1 s function timeout: killed there, and its
    # on-demand cold start too. Counted at the timeout (a lower bound), not as a failure.
    assert upstream["limits"] == 2 and upstream["timeouts"] == 2 and upstream["errors"] == 0
    assert 1000 <= upstream["first_ms"] < IMPORT_S * 1000 and upstream["warm_ms"] is None
    sample = doc["variants"]["slim_off"]["environments"][0]
    assert [(r["kind"], r["timed_out"]) for r in sample["requests"]] == [("first", True), ("cold", True)]
    assert sample["limits"] == ["first /: timed out after 1 s (the function timeout)",
                                "cold /: timed out after 1 s (the function timeout)"]
    for mode in ("upstream-env", "eager"):  # the app was built during INIT: every request served
        assert doc["modes"][mode]["limits"] == 0 and doc["modes"][mode]["timeouts"] == 0, mode
        assert doc["modes"][mode]["init_ms"] >= IMPORT_S * 1000 and doc["modes"][mode]["warm_ms"] is not None
    burst = doc["burst"]["modes"]["upstream"]
    assert burst["timeouts"] == 2 and burst["errors"] == 0 and doc["burst"]["modes"]["eager"]["timeouts"] == 0
    assert len([limit for limit in doc["limits"] if limit.startswith("burst upstream ")]) == 2
    assert len(doc["limits"]) == 4
    assert "4 limit(s) hit - measured, not failed" in out and "failed request" not in out
    header = next(line for line in out.splitlines() if line.strip().startswith("mode") and "limits hit" in line)
    assert header  # the table shows the limits column when one was hit
    assert (project / "out" / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_proactively_initialized_baseline_that_times_out_is_a_limit_too(project: Path, slow_package: Path) -> None:
    code, doc = run_bench(project, slow_package, "--modes", "upstream", "--burst", "0")
    assert code == 0 and doc["errors"] == []
    upstream = doc["modes"]["upstream"]
    assert upstream["limits"] == 3 and upstream["timeouts"] == 3 and upstream["errors"] == 0
    sample = doc["variants"]["slim_off"]["environments"][0]
    timed_out = sorted(r["kind"] for r in sample["requests"] if r["timed_out"])
    assert timed_out == ["cold", "first", "proactive-first"]


def test_an_eager_mode_that_fails_fails_the_run(project: Path, slow_package: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_bench(project, slow_package, "--modes", "upstream-env,eager", "--burst", "0",
                          "--init-limit", "1")
    out = capsys.readouterr().out
    assert code == 1, out
    # The same cut INIT: upstream-env's is a measurement, zappa-eager's a failure.
    assert doc["modes"]["upstream-env"]["errors"] == 0 and doc["modes"]["upstream-env"]["limits"] >= 1
    assert doc["modes"]["eager"]["errors"] >= 1
    assert all(" eager " in error for error in doc["errors"]), doc["errors"]
    assert any("Sandbox.Timedout" in error for error in doc["errors"])
    assert "failed request(s)" in out


@pytest.fixture
def cpu_hog() -> Iterator[subprocess.Popen[bytes]]:
    """A busy loop on one core, as another job on the machine."""
    hog = subprocess.Popen([sys.executable, "-c", "while True:\n    pass\n"])
    try:
        yield hog
    finally:
        hog.kill()
        hog.wait()


def test_a_busy_machine_is_reported_and_does_not_fail_the_run(
        project: Path, slow_package: Path, cpu_hog: subprocess.Popen[bytes],
        capsys: pytest.CaptureFixture[str]) -> None:
    settings = json.loads((project / "zappa_settings.json").read_text())
    settings["dev"]["timeout_seconds"] = 30
    (project / "zappa_settings.json").write_text(json.dumps(settings))
    code, doc = run_bench(project, slow_package, "--quick", "--modes", "upstream,eager")
    out = capsys.readouterr().out
    assert cpu_hog.poll() is None  # it ran all along
    assert code == 0, out
    assert doc["errors"] == [] and doc["limits"] == []
    # The burst is sized to the machine: one on-demand environment per usable CPU beside the pre-initialized one.
    assert doc["burst"]["requests"] == min(6, 1 + usable_cpus())
    assert doc["burst"]["modes"]["eager"]["cold_starts"] == doc["burst"]["requests"] - 1
    for contention in (doc["contention"], doc["burst"]["contention"]):
        assert contention["usable_cpus"] == usable_cpus()
        assert contention["others_cpus"] >= 0.5, contention  # the hog kept (at least most of) a CPU busy
    assert "usable CPUs; other processes kept busy:" in out.split("\nburst:")[1]
    assert set(doc["phases"]) >= {"packaging", "task roots", "measure slim_off", "burst", "report", "total"}
    assert out.strip().splitlines()[-3].startswith("time: packaging")
