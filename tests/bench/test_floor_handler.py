"""The ``floor`` mode's handler: the app alone behind the thinnest adapter, in a fresh interpreter.

What ``zappa bench --modes floor`` runs in the emulator: if it served wrongly, or imported zappa,
the floor it reports would not be the app's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import base_stage, make_task_root
from zappa_eager.bench.modes import FLOOR, MODE_SPECS
from zappa_eager.bench.variants import handler_source
from zappa_eager.emulator import events

SERVE = """
import json, sys
events = json.loads(sys.argv[1])
import handler
out = [handler.lambda_handler(event, None) for event in events]
print("FLOOR-RESULT " + json.dumps({"responses": out, "asgi": handler.IS_ASGI,
      "zappa_loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("zappa", "zappa_eager")),
      "asyncio_loaded": "asyncio" in sys.modules}))
"""


def floor_root(tmp_path: Path, stage: dict[str, Any], with_project: bool = True) -> Path:
    root = make_task_root(tmp_path, stage, with_project=with_project)
    (root / "handler.py").write_bytes(handler_source(MODE_SPECS[FLOOR]))
    return root


def app_root(tmp_path: Path, module: str, source: str, **stage: Any) -> Path:
    """A floor task root serving ``module.app`` (written from ``source``) as the stage's ``app_function``."""
    config = {"app_function": f"{module}.app", "project_name": module, "s3_bucket": "b", "aws_region": "us-east-1",
              **stage}
    root = floor_root(tmp_path, config, with_project=False)
    (root / f"{module}.py").write_text(source)
    return root


def serve(root: Path, requests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO")}
    env.update(PYTHONPATH=str(root), DJSITE_DB=str(root.parent / "db.sqlite3"), TMPDIR=str(root.parent))
    return subprocess.run([sys.executable, "-c", SERVE, json.dumps(requests)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def result(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("FLOOR-RESULT "))
    return dict(json.loads(line.removeprefix("FLOOR-RESULT ")))


def test_a_django_stage_is_served_without_zappa(tmp_path: Path) -> None:
    root = floor_root(tmp_path, base_stage())
    out = result(serve(root, [events.api_gateway_v1("GET", "/healthz"), events.function_url("GET", "/"),
                              events.api_gateway_v1("GET", "/no-such-page")]))
    statuses = [response["statusCode"] for response in out["responses"]]
    assert statuses == [200, 200, 404]
    assert out["zappa_loaded"] == [] and out["asgi"] is False


def test_the_stage_environment_variables_reach_the_app(tmp_path: Path) -> None:
    root = app_root(
        tmp_path, "envapp",
        "import os\n"
        "def app(environ, start_response):\n"
        "    start_response('201 Created', [('Content-Type', 'text/plain')])\n"
        "    return [os.environ['ENVAPP_VALUE'].encode(), b' ', environ['PATH_INFO'].encode(),\n"
        "            b' ', environ['QUERY_STRING'].encode()]\n",
        environment_variables={"ENVAPP_VALUE": "set by the stage"})
    out = result(serve(root, [events.api_gateway_v1("GET", "/items", query="a=1")]))
    assert out["responses"][0]["statusCode"] == 201
    assert out["responses"][0]["body"] == "set by the stage /items a=1"


def test_an_asgi_app_is_run_through_one_http_cycle(tmp_path: Path) -> None:
    root = app_root(
        tmp_path, "asgiapp",
        "async def app(scope, receive, send):\n"
        "    body = (await receive())['body']\n"
        "    headers = [(b'x-path', scope['path'].encode())]\n"
        "    await send({'type': 'http.response.start', 'status': 202, 'headers': headers})\n"
        "    await send({'type': 'http.response.body', 'body': b'got ' + body})\n")
    out = result(serve(root, [events.function_url("POST", "/echo", body="hello")]))
    response = out["responses"][0]
    assert (response["statusCode"], response["body"], response["headers"]["x-path"]) == (202, "got hello", "/echo")
    assert out["asgi"] is True and out["asyncio_loaded"] is True


def test_a_slim_handler_package_is_refused_with_the_fix(tmp_path: Path) -> None:
    root = floor_root(tmp_path, base_stage(slim_handler=True))
    proc = serve(root, [events.api_gateway_v1("GET", "/")])
    assert proc.returncode != 0
    assert "slim_handler off (--slim off)" in proc.stderr
