"""Warm-up outcomes and the EMF InitType dimension through the real runtime client (issue 12, points 2 and 4).

Each environment runs a zappa-eager package (our handler.py, the rendered zappa_settings.py, the
runtime) of the djsite fixture plus ``warmsite``: a ``@login_required`` view, a view listing what
that view served, and the middleware docs/settings.md gives for warming an authenticated view,
switched on by ``WARMSITE_WARMUP_USER``. Its SQLite database (with the ``warmup`` user) is made by
``migrate`` before the environments start and read from the read-only task root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import base_stage, make_task_root
from tests.emulator.conftest import add_packages
from zappa_eager.emulator import Emulator, Environment, events

PACKAGES = ("django", "asgiref", "sqlparse", "zappa", "werkzeug", "markupsafe", "durationpy", "boto3", "botocore",
            "s3transfer", "jmespath", "dateutil", "urllib3", "six")
#: SnapStart for Python needs 3.12+ (the stage is checked); older interpreters run the hooks anyway.
SNAP_RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}" if sys.version_info >= (3, 12) else "python3.12"

SETTINGS = """\
import os
from pathlib import Path

from djsite.settings import *  # noqa: F403

ROOT_URLCONF = "warmsite_urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": str(Path(__file__).resolve().parent / "warmsite.sqlite3")}}
if os.environ.get("WARMSITE_WARMUP_USER"):
    MIDDLEWARE = [*MIDDLEWARE, "warmsite_middleware.WarmupUserMiddleware"]  # noqa: F405
"""
URLS = """\
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.urls import include, path

SERVED = []


@login_required
def account(request):
    SERVED.append(request.path_info)
    return HttpResponse(f"account of {request.user.get_username()}")


def served(request):
    return JsonResponse({"served": SERVED})


urlpatterns = [path("account/", account), path("served", served), path("", include("djsite.urls"))]
"""
#: The middleware of docs/settings.md, "Warming an authenticated view", as written there.
MIDDLEWARE = """\
from django.contrib.auth import get_user_model

try:
    from zappa_eager.runtime.warmup import is_warmup_request
except ImportError:  # a package built with eager_init: false has no zappa_eager
    def is_warmup_request(meta):
        return False


class WarmupUserMiddleware:
    \"\"\"Serves zappa-eager's warm-up requests as the "warmup" user; every other request as it comes.\"\"\"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_warmup_request(request.META):
            request.user = get_user_model().objects.get(username="warmup")
        return self.get_response(request)
"""


def package(tmp_path: Path, **stage: Any) -> Path:
    root = make_task_root(tmp_path, base_stage(django_settings="warmsite_settings", **stage))
    (root / "warmsite_settings.py").write_text(SETTINGS)
    (root / "warmsite_urls.py").write_text(URLS)
    (root / "warmsite_middleware.py").write_text(MIDDLEWARE)
    migrate = ("import django; django.setup(); from django.core.management import call_command; "
               "call_command('migrate', verbosity=0); from django.contrib.auth import get_user_model; "
               "get_user_model().objects.create_user('warmup')")
    subprocess.run([sys.executable, "-c", migrate], cwd=root, check=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(root), "DJANGO_SETTINGS_MODULE": "warmsite_settings"})
    add_packages(root, PACKAGES)
    return root


def served(env: Environment) -> list[str]:
    result = env.invoke(events.api_gateway_v1("GET", "/served"))
    assert result.status_code == 200, (result.error, env.logs()[-3000:])
    paths: list[str] = result.json()["served"]
    return paths


def the_report(env: Environment) -> dict[str, Any]:
    report = env.init_report()
    assert report is not None and report["ok"] is True, env.logs()
    return report


WARMUP = ["/healthz", "/account/", "/nope", "/boom", {"path": "/account/", "expect": 302},
          {"path": "/healthz", "expect": [201, 204]}]


def test_the_report_and_log_line_say_what_each_warmup_warmed(tmp_path: Path) -> None:
    root = package(tmp_path, eager_init_warmup=WARMUP, eager_init_warmup_rounds=1)
    with Emulator(root, function_name="djsite-dev") as emu:
        env = emu.start_environment("provisioned-concurrency")
        report = the_report(env)
        login = "/accounts/login/?next=/dev/account/"  # Django's LOGIN_URL; next= carries the stage prefix
        assert [(w["path"], w["status"], w["outcome"], w["location"], w["reason"], w["expect"])
                for w in report["warmup"]] == [
            ("/healthz", 200, "warmed", None, None, None),
            ("/account/", 302, "redirected", login, None, None),
            ("/nope", 404, "failed", None, "no route", None),
            ("/boom", 500, "failed", None, "app error", None),
            ("/account/", 302, "warmed", login, None, [302]),
            ("/healthz", 200, "failed", None, "expected 201 or 204, got 200", [201, 204]),
        ]
        errors = [w["error"] for w in report["warmup"]]
        assert errors[:2] == [None, None] and errors[4] is None
        assert errors[2] == ("status 404: no route; "
                             "check the path: give it as the app routes it, without the stage prefix")
        assert str(errors[3]).startswith("status 500: app error; the app raised")
        assert "Warming an authenticated view" not in json.dumps(report)  # no 401/403 here

        logs = env.logs()
        human = next(line for line in logs.splitlines() if line.startswith("[zappa-eager] init "))
        assert human.endswith(
            f"ok warmup=[GET /healthz -> 200 warmed, GET /account/ -> 302 redirected to {login}, "
            "GET /nope -> 404 failed: no route, GET /boom -> 500 failed: app error, "
            "GET /account/ -> 302 warmed (expected), GET /healthz -> 200 failed: expected 201 or 204, got 200]")
        assert f"[zappa-eager] warm-up GET /account/ redirected to {login}: the view behind the redirect did not run" \
            in logs
        assert "[zappa-eager] warm-up GET /nope failed: status 404: no route" in logs

        # The login-protected view never ran: a redirect warmed only the redirect.
        assert served(env) == []
        assert env.invoke(events.api_gateway_v1("GET", "/healthz")).status_code == 200


def test_a_trusted_warmup_user_warms_a_login_required_view_and_clients_cannot_pose_as_it(tmp_path: Path) -> None:
    root = package(tmp_path, eager_init_warmup=["/account/"])
    with Emulator(root, function_name="djsite-dev", env={"WARMSITE_WARMUP_USER": "1"}) as emu:
        env = emu.start_environment("provisioned-concurrency")
        report = the_report(env)
        assert [(w["status"], w["outcome"], w["round"]) for w in report["warmup"]] == [
            (200, "warmed", 1), (200, "warmed", 2)]
        assert served(env) == ["/account/", "/account/"]  # the view itself ran, as the warm-up user

        # After INIT the token is gone: a request copying the warm-up headers is an anonymous user.
        forged = {"X-Zappa-Eager-Warmup": "1", "X-Zappa-Eager-Warmup-Token": "guessed"}
        for headers in ({}, forged):
            answer = env.invoke(events.api_gateway_v1("GET", "/account/", headers=headers))
            assert answer.status_code == 302, answer.body
            assert answer.headers["Location"] == "/accounts/login/?next=/dev/account/"
        assert served(env) == ["/account/", "/account/"]


@pytest.fixture(scope="module")
def emf_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield package(tmp_path_factory.mktemp("emf"), eager_init_warmup=["/healthz"], snap_start="PublishedVersions",
                  runtime=SNAP_RUNTIME, eager_init_warmup_after_restore=True)


def emf_documents(env: Environment) -> list[dict[str, Any]]:
    return [json.loads(line) for line in env.logs().splitlines() if line.startswith('{"_aws"')]


@pytest.mark.parametrize(("init_type", "events_logged"), [
    ("on-demand", ["init"]),
    ("provisioned-concurrency", ["init"]),
    ("snap-start", ["init", "before_snapshot", "after_restore"]),
])
def test_emf_metrics_carry_the_init_type_as_a_dimension(emf_root: Path, init_type: str,
                                                        events_logged: list[str]) -> None:
    with Emulator(emf_root, function_name="djsite-prod") as emu:
        env = emu.start_environment(init_type)
        if init_type == "snap-start":
            env.restore()
        assert env.invoke(events.api_gateway_v1("GET", "/healthz")).status_code == 200  # on-demand: runs INIT
        documents = emf_documents(env)
        assert [d["zappa_eager_init"]["event"] for d in documents] == events_logged, env.logs()
        for document in documents:
            assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["FunctionName", "InitType"],
                                                                               ["FunctionName"]]
            assert document["InitType"] == init_type == document["zappa_eager_init"]["init_type"]
            assert document["FunctionName"] == "djsite-prod"
            names = [m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
            assert names and all(isinstance(document[name], float | int) for name in names)
        assert "InitTotal" in documents[0]
