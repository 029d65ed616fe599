"""The shipped Flask and FastAPI examples, built in INIT by the runtime with their own stage settings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, render_settings, run_probe
from zappa_eager.packaging.runtime_files import copy_runtime
from zappa_eager.runtime.report import parse_report_lines


def example_task_root(tmp_path: Path, example: str) -> Path:
    """The example's app and its `dev` stage's generated settings, laid out as a package is."""
    source = REPO / "examples" / example
    root = tmp_path / "task"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("README.md", "requirements.txt", "__pycache__"))
    stage = json.loads((source / "zappa_settings.json").read_text())["dev"]
    render = tmp_path / "render"
    render.mkdir()
    (root / "zappa_settings.py").write_text(render_settings(stage, render))
    shutil.copy(REPO / "zappa_eager" / "runtime" / "handler.py", root / "handler.py")
    copy_runtime(root / "zappa_eager")
    return root


@pytest.mark.parametrize(("example", "path", "body"), [
    ("flask_app", "/api/echo", '"path":"/api/echo"'),
    ("fastapi_app", "/api/items/3", '"name":"item3"'),
])
def test_the_example_is_built_and_warmed_in_init_then_serves(tmp_path: Path, example: str, path: str,
                                                            body: str) -> None:
    root = example_task_root(tmp_path, example)
    result = run_probe(root, [{"kind": "http", "path": path}])
    (report,) = parse_report_lines(result["stdout"])
    assert report["ok"] is True and result["built_at_import"] is True
    warmed: list[dict[str, Any]] = report["warmup"]
    assert warmed and all(w["outcome"] == "warmed" for w in warmed), warmed
    assert report["boto3_in_init"] is False
    response = result["responses"][0]["response"]
    assert response["statusCode"] == 200 and body in response["body"].replace(" ", "")
    assert result["new_modules"][0] == []  # INIT imported everything the request needed
    # asyncio only runs ASGI apps: a WSGI app (Flask) never loads it; FastAPI (Starlette, anyio) does itself
    assert result["asyncio_loaded"] is (example == "fastapi_app")
