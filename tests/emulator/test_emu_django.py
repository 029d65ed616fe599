"""A real Zappa + Django package in the emulator: upstream's handler.py, the djsite fixture app."""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Callable
from pathlib import Path

import zappa.handler

from zappa_eager.emulator import Emulator, events

DJSITE = Path(__file__).resolve().parent.parent / "fixtures" / "djsite"
PACKAGES = ("django", "asgiref", "sqlparse", "zappa", "werkzeug", "markupsafe", "durationpy", "boto3", "botocore",
            "s3transfer", "jmespath", "dateutil", "urllib3", "six")
SETTINGS = """\
API_STAGE = "dev"
APP_NAME = "djsite"
PROJECT_NAME = "djsite"
DJANGO_SETTINGS = "djsite.settings"
AWS_REGION = "us-east-1"
DEBUG = False
LOG_LEVEL = "INFO"
BINARY_SUPPORT = True
CONTEXT_HEADER_MAPPINGS = {}
DOMAIN = None
BASE_PATH = None
ENVIRONMENT_VARIABLES = {}
EXCEPTION_HANDLER = None
"""


def test_zappa_django_package(task_root: Callable[..., Path], with_packages: Callable[..., None]) -> None:
    root = task_root("hello.py")
    shutil.copytree(DJSITE, root, dirs_exist_ok=True)
    shutil.copy(zappa.handler.__file__, root / "handler.py")  # what `zappa package` ships
    (root / "zappa_settings.py").write_text(SETTINGS)
    with_packages(root, PACKAGES)
    with Emulator(root, function_name="djsite-dev", env={"DJSITE_DB": "/tmp/djsite.sqlite3"}) as emu:
        env = emu.start_environment("on-demand")
        cold = env.invoke(events.api_gateway_v1("GET", "/healthz"))
        assert cold.status_code == 200, (cold.error, env.logs())
        assert cold.json()["status"] == "ok" and cold.init_duration_ms is not None
        assert env.invoke(events.api_gateway_v2("GET", "/", stage="dev")).status_code == 200
        assert env.invoke(events.function_url("GET", "/healthz")).status_code == 200
        keep_warm = env.invoke(events.keep_warm("djsite-dev"))
        assert keep_warm.ok and keep_warm.payload is None  # upstream answers keep-warm pings with nothing

        warm = [env.invoke(events.api_gateway_v1("GET", "/healthz")) for _ in range(20)]
        assert all(r.status_code == 200 for r in warm)
        assert statistics.median(r.duration_ms for r in warm) < 20

        probe = Emulator(root, handler="hello.lambda_handler")
        with probe:
            body = probe.start_environment("provisioned-concurrency").invoke(
                {"action": "import", "modules": ["django", "zappa"]}).json()
        task = body["environ"]["LAMBDA_TASK_ROOT"]
        assert body["imports"]["django"]["file"] == f"{task}/django/__init__.py"
        assert body["imports"]["zappa"]["file"] == f"{task}/zappa/__init__.py"
