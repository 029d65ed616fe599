"""``eager_init_on_error`` through the real runtime client: which failures fail INIT, stay lazy or give
the environment back, per INIT type (issue 12, point 1).

Each environment runs a real zappa-eager package (handler.py, rendered zappa_settings.py, the
runtime) of the djsite fixture plus ``brokenapp``, whose ``AppConfig.ready()`` raises when
``DJSITE_BREAK_READY`` is set: a failure *after* ``django.setup()`` began, which the same process
can never retry ("populate() isn't reentrant").
"""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, base_stage, make_task_root
from tests.emulator.conftest import add_packages
from zappa_eager.emulator import Emulator, InvokeResult, events
from zappa_eager.runtime.boot import GIVE_BACK_EXIT_STATUS

PACKAGES = ("django", "asgiref", "sqlparse", "zappa", "werkzeug", "markupsafe", "durationpy", "boto3", "botocore",
            "s3transfer", "jmespath", "dateutil", "urllib3", "six")
BUCKET = "zappa-eager-on-error"
ARCHIVE_KEY = "dev_djsite_current_project.tar.gz"
ARCHIVE_URL = f"s3://{BUCKET}/{ARCHIVE_KEY}"
APP_ENV = {"DJSITE_DB": "/tmp/djsite.sqlite3"}
BREAK_READY = {"DJSITE_BREAK_READY": "1"}

BROKEN_APP = '''\
import os

from django.apps import AppConfig


class BrokenAppConfig(AppConfig):
    name = "brokenapp"

    def ready(self):
        if os.environ.get("DJSITE_BREAK_READY"):
            raise RuntimeError("brokenapp: database unreachable in AppConfig.ready()")
'''
SETTINGS = """\
from djsite.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "brokenapp"]  # noqa: F405
"""


def write_project(dest: Path) -> None:
    shutil.copytree(FIXTURES / "djsite", dest, dirs_exist_ok=True)
    (dest / "brokenapp").mkdir()
    (dest / "brokenapp" / "__init__.py").write_text("")
    (dest / "brokenapp" / "apps.py").write_text(BROKEN_APP)
    (dest / "onerror_settings.py").write_text(SETTINGS)


def package(tmp_path: Path, *, slim: bool = False, **stage: Any) -> Path:
    """A task root as ``zappa package`` lays it out; ``slim``: the project is in the S3 archive instead."""
    config = base_stage(django_settings="onerror_settings", **stage)
    if slim:
        config.update(slim_handler=True, s3_bucket=BUCKET)
    root = make_task_root(tmp_path, config, with_project=False)
    if slim:
        assert f"ARCHIVE_PATH={ARCHIVE_URL!r}" in (root / "zappa_settings.py").read_text()
    else:
        write_project(root)
    add_packages(root, PACKAGES)
    return root


def project_archive(tmp_path: Path) -> bytes:
    project = tmp_path / "project"
    write_project(project)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for entry in sorted(project.iterdir()):
            archive.add(entry, arcname=entry.name)
    return buffer.getvalue()


def rendered_policy(root: Path) -> str:
    lines = [line for line in (root / "zappa_settings.py").read_text().splitlines()
             if line.startswith("EAGER_INIT_ON_ERROR=")]
    assert len(lines) == 1, lines
    return lines[0]


def healthz() -> dict[str, Any]:
    return events.api_gateway_v1("GET", "/healthz")


def served(result: InvokeResult) -> None:
    assert result.error is None, result.error
    assert result.status_code == 200 and result.json()["status"] == "ok", result.body


def gave_back(result: InvokeResult) -> None:
    """The request is not lost: it fails as an invocation whose runtime exited (Lambda then resets)."""
    assert result.error_phase == "invoke" and result.error_type == "Runtime.ExitError", result.error
    assert f"exit status {GIVE_BACK_EXIT_STATUS}" in str(result.error_message)


@pytest.mark.parametrize("init_type", ["provisioned-concurrency", "snap-start"])
def test_a_broken_app_fails_a_pre_initialized_init_by_default(tmp_path: Path, init_type: str) -> None:
    """The default (auto) posts an init error: PC never becomes READY, no SnapStart version is published."""
    root = package(tmp_path)  # no eager_init_on_error in the stage
    with Emulator(root, function_name="djsite-dev", env={**APP_ENV, "DJSITE_SETTINGS_RAISE": "1"}) as emu:
        env = emu.start_environment(init_type)
        assert env.init_error is not None, env.logs()
        assert env.init_error["errorType"] == "RuntimeError"
        assert env.init_error["errorMessage"] == "djsite settings exploded"
        assert not env.alive  # never READY: awslambdaric exits after posting the init error
        report = env.init_report()
        assert report is not None and report["ok"] is False and report["init_type"] == init_type
        assert "djsite settings exploded" in report["error"]
        assert any(note.startswith(f"eager_init_on_error=auto: a {init_type} INIT fails loudly")
                   for note in report["notes"]), report["notes"]
        assert env.invoke(healthz()).error_phase == "init"
    assert rendered_policy(root) == "EAGER_INIT_ON_ERROR='auto'"


def test_on_demand_archive_fault_stays_lazy_and_rebuilds_once_the_archive_is_back(tmp_path: Path) -> None:
    root = package(tmp_path, slim=True)
    with Emulator(root, function_name="djsite-dev", env=APP_ENV) as emu:
        emu.s3_put(BUCKET, "unrelated", b"the bucket exists, the archive does not")
        env = emu.start_environment("on-demand")
        first = env.invoke(healthz())
        assert first.error_phase == "invoke" and first.init_duration_ms is not None, first.error
        assert f"project archive {ARCHIVE_URL} not found" in str(first.error_message)
        assert env.alive  # INIT stayed lazy; the failed rebuild kept the environment
        init = env.init_reports()[0]
        assert init["event"] == "init" and init["ok"] is False and init["init_type"] == "on-demand"
        assert f"{ARCHIVE_URL} not found" in init["error"]
        assert ("eager_init_on_error=auto: the archive phase failed on an on-demand INIT, which this process can "
                "retry: the first request builds the handler again") in init["notes"]

        emu.s3_put(BUCKET, ARCHIVE_KEY, project_archive(tmp_path))
        served(env.invoke(healthz()))
        assert [(r["event"], r["ok"]) for r in env.init_reports()] == [
            ("init", False), ("lazy-rebuild", False), ("lazy-rebuild", True)]
        served(env.invoke(healthz()))  # built once: no further rebuild
        assert len(env.init_reports()) == 3 and env.alive


def test_on_demand_app_failure_after_django_setup_began_gives_the_environment_back(tmp_path: Path) -> None:
    root = package(tmp_path)
    with Emulator(root, function_name="djsite-dev", env=APP_ENV) as emu:
        broken = emu.start_environment("on-demand", env=BREAK_READY)
        result = broken.invoke(healthz())
        assert result.error_phase == "init", result.error  # the waiting request gets the init error
        assert result.error_type == "RuntimeError"
        assert result.error_message == "brokenapp: database unreachable in AppConfig.ready()"
        assert not broken.alive
        report = broken.init_report()
        assert report is not None and report["ok"] is False
        assert any("populate() isn't reentrant" in note and "INIT fails" in note for note in report["notes"])

        fresh = emu.invoke(healthz())  # Lambda-like routing: a new environment, built from scratch
        served(fresh)
        assert fresh.cold and fresh.environment != broken.name


def test_app_failure_in_a_lazy_rebuild_gives_the_environment_back(tmp_path: Path) -> None:
    """An archive fault keeps the environment (auto); the rebuild then fails inside django.setup(): give back."""
    root = package(tmp_path, slim=True)
    with Emulator(root, function_name="djsite-dev", env=APP_ENV) as emu:
        emu.s3_put(BUCKET, "unrelated", b"the bucket exists, the archive does not")
        env = emu.start_environment("on-demand", env=BREAK_READY)
        assert "not found" in str(env.invoke(healthz()).error_message) and env.alive
        emu.s3_put(BUCKET, ARCHIVE_KEY, project_archive(tmp_path))

        result = env.invoke(healthz())
        gave_back(result)
        assert not env.alive
        rebuild = env.init_reports()[-1]
        assert rebuild["event"] == "lazy-rebuild" and rebuild["ok"] is False
        assert "brokenapp: database unreachable" in rebuild["error"]
        assert any("given back to Lambda" in note for note in rebuild["notes"]), rebuild["notes"]

        fresh = emu.invoke(healthz())
        served(fresh)
        assert fresh.environment != env.name


def test_explicit_lazy_keeps_a_provisioned_environment_and_builds_on_the_first_request(tmp_path: Path) -> None:
    root = package(tmp_path, eager_init_on_error="lazy")
    assert rendered_policy(root) == "EAGER_INIT_ON_ERROR='lazy'"
    # Settings raise once per environment (the flag lives in the environment's private /tmp).
    env_vars = {**APP_ENV, "DJSITE_SETTINGS_RAISE_ONCE": "/tmp/raised-once"}
    with Emulator(root, function_name="djsite-dev", env=env_vars) as emu:
        env = emu.start_environment("provisioned-concurrency")
        assert env.init_error is None and env.alive  # READY, as lazy asks
        report = env.init_report()
        assert report is not None and report["ok"] is False
        assert report["notes"] == ["eager_init_on_error=lazy: INIT completes; the first request builds the handler "
                                   "again"]
        served(env.invoke(healthz()))
        assert [r["event"] for r in env.init_reports()] == ["init", "lazy-rebuild"]


def test_explicit_lazy_gives_a_stuck_environment_back_on_its_first_request(tmp_path: Path) -> None:
    """Explicit lazy is honoured in INIT; a request never retries a setup that cannot succeed."""
    root = package(tmp_path, eager_init_on_error="lazy")
    with Emulator(root, function_name="djsite-dev", env=APP_ENV) as emu:
        env = emu.start_environment("provisioned-concurrency", env=BREAK_READY)
        assert env.init_error is None and env.alive
        report = env.init_report()
        assert report is not None and report["ok"] is False
        assert any("can never build the app" in note and "first request gives the environment back" in note
                   for note in report["notes"]), report["notes"]

        result = env.invoke(healthz())
        gave_back(result)
        assert not env.alive
        assert "lazy-rebuild not attempted" in env.logs()
        rebuild = env.init_reports()[-1]
        assert rebuild["event"] == "lazy-rebuild" and rebuild["error"] == "RuntimeError: populate() isn't reentrant"

        served(emu.invoke(healthz(), init_type="provisioned-concurrency"))


def test_explicit_raise_fails_an_on_demand_init_on_an_archive_fault(tmp_path: Path) -> None:
    root = package(tmp_path, slim=True, eager_init_on_error="raise")
    assert rendered_policy(root) == "EAGER_INIT_ON_ERROR='raise'"
    with Emulator(root, function_name="djsite-dev", env=APP_ENV) as emu:
        emu.s3_put(BUCKET, "unrelated", b"the bucket exists, the archive does not")
        env = emu.start_environment("on-demand")
        result = env.invoke(healthz())
        assert result.error_phase == "init" and result.error_type == "ArchiveError", result.error
        assert f"project archive {ARCHIVE_URL} not found" in str(result.error_message)
        assert not env.alive
        report = env.init_report()
        assert report is not None
        assert report["notes"] == ["eager_init_on_error=raise: INIT fails (init error); Lambda starts a fresh "
                                   "environment"]
