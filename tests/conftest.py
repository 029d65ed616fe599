"""Shared fixtures: dummy AWS credentials, a loopback moto server, task roots built like packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zappa_eager.packaging.runtime_files import copy_runtime, runtime_modules

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: What `zappa package` ships of zappa_eager: the files reachable from handler.py.

#: The files every package ships from zappa_eager (relative to the package folder: runtime/...).
RUNTIME_FILES = runtime_modules()


#: Dummy credentials and region: no test may reach AWS.
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def use_dummy_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point boto3 at dummy credentials (also for module-scoped fixtures, through ``MonkeyPatch.context()``)."""
    for key, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials: no test may reach AWS."""
    use_dummy_aws(monkeypatch)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 that separate processes (Lambda environments) can reach."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def render_settings(stage_config: dict[str, Any], tmp_path: Path, stage: str = "dev") -> str:
    """Generate zappa_settings.py through the real CLI path (upstream + our override)."""
    from zappa_eager.cli import EagerZappaCLI

    settings_file = tmp_path / "zappa_settings.json"
    settings_file.write_text(json.dumps({stage: stage_config}))
    cli = EagerZappaCLI()
    cli.api_stage = stage
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        cli.load_settings(str(settings_file))
        return str(cli.get_zappa_settings_string())
    finally:
        os.chdir(cwd)


def base_stage(**overrides: Any) -> dict[str, Any]:
    stage: dict[str, Any] = {
        "django_settings": "djsite.settings",
        "project_name": "djsite",
        "s3_bucket": "zappa-eager-tests",
        "aws_region": "us-east-1",
        "keep_warm": False,
    }
    stage.update(overrides)
    return stage


def make_task_root(tmp_path: Path, stage_config: dict[str, Any], *, with_project: bool = True,
                   project: str = "djsite") -> Path:
    """A directory shaped like an unpacked zappa-eager package: handler.py, zappa_settings.py, runtime."""
    root = tmp_path / "task"
    root.mkdir(parents=True)
    if with_project:
        shutil.copytree(FIXTURES / project, root, dirs_exist_ok=True)
    settings_dir = tmp_path / "render"
    settings_dir.mkdir(parents=True)
    (root / "zappa_settings.py").write_text(render_settings(stage_config, settings_dir))
    if stage_config.get("eager_init", True):
        shutil.copy(REPO / "zappa_eager" / "runtime" / "handler.py", root / "handler.py")
    else:  # what `zappa package` ships with eager_init: false
        import zappa.handler

        shutil.copy(zappa.handler.__file__, root / "handler.py")
    copy_runtime(root / "zappa_eager")
    return root


def run_probe(task_root: Path, actions: list[dict[str, Any]], env: dict[str, str] | None = None,
              expect_exit: int = 0) -> dict[str, Any]:
    """Import ``handler`` in a fresh interpreter (one pre-initialized Lambda environment) and run ``actions``.

    Pass ``env={"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}`` for an INIT a caller waits for.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    private_tmp = task_root.parent / "env-tmp"
    private_tmp.mkdir(exist_ok=True)
    environment.update(
        PYTHONPATH=str(task_root),
        AWS_LAMBDA_FUNCTION_NAME="djsite-dev",
        AWS_LAMBDA_INITIALIZATION_TYPE="provisioned-concurrency",
        DJSITE_DB=str(task_root.parent / "db.sqlite3"),
        TMPDIR=str(private_tmp),
    )
    environment.update(env or {})
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "runtime_probe.py"), json.dumps(actions)],
        cwd=task_root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == expect_exit, proc.stdout + proc.stderr
    result: dict[str, Any] = {"stdout": proc.stdout, "stderr": proc.stderr, "returncode": proc.returncode}
    for line in proc.stdout.splitlines():
        if line.startswith("PROBE-RESULT "):
            result.update(json.loads(line[len("PROBE-RESULT "):]))
    return result
