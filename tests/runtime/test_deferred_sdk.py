"""No boto3 in INIT unless INIT needs it: upstream's top-level SDK import waits for its first use.

Each test imports ``handler`` in a fresh interpreter (one Lambda environment) with the real
zappa, a real Django site and moto for S3, and checks both what INIT loaded and that every
path upstream takes through boto3 later still works.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import boto3
import pytest
import zappa.handler

from tests.conftest import base_stage, make_task_root, run_probe
from zappa_eager.runtime.deferred import SDK_MODULES, UPSTREAM_DEFERRALS
from zappa_eager.runtime.report import parse_report_lines

HTTP_HOME = {"kind": "http", "path": "/"}
SDK = {"kind": "sdk"}
ZAPPA_DIR = Path(zappa.handler.__file__).parent


def the_report(result: dict[str, Any]) -> dict[str, Any]:
    reports = parse_report_lines(result["stdout"])
    assert len(reports) == 1, result["stdout"]
    return reports[0]


def test_a_stage_without_s3_in_init_imports_no_sdk_and_serves(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage(eager_init_warmup=["/healthz"]))
    result = run_probe(root, [{"kind": "gc"}, {"kind": "call", "function": "djsite.probes.gc_enabled_at_load"},
                              HTTP_HOME, {"kind": "keep_warm"}, SDK])
    gc_state = result["responses"].pop(0)["response"]
    assert result["responses"].pop(0)["response"] is False  # while Django loaded the app
    assert gc_state["enabled"] is True and gc_state["frozen"] > 10_000  # held off in INIT, on for the first event
    report = the_report(result)
    assert report["ok"] is True
    assert (report["boto3_in_init"], report["sdk_modules"], report["gc_paused"]) == (False, [], True)
    assert result["sdk_after_init"] == []
    assert result["responses"][0]["response"]["statusCode"] == 200
    assert result["responses"][1]["ok"] is True  # keep_warm: nothing to build, still no SDK
    sdk = result["responses"][2]["response"]
    assert sdk["loaded_before"] == []  # neither the request nor keep_warm needed it
    # Upstream's own names resolve to the real SDK on first use.
    assert sdk["client_error_is_real"] is True and sdk["utilities_boto3"] == "DeferredModule"


def test_commands_event_sources_and_async_tasks_still_run(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage())
    s3_event = {"Records": [{"s3": {"configurationId": "djsite-dev:djsite.jobs.on_upload",
                                    "bucket": {"arn": "arn:aws:s3:::uploads"},
                                    "object": {"key": "a.txt"}}}]}
    task_event = {"command": "zappa.asynchronous.route_lambda_task", "task_path": "djsite.jobs.add",
                  "capture_response": False, "response_id": None, "args": [2, 3], "kwargs": {}}
    result = run_probe(root, [{"kind": "event", "event": {"command": "djsite.jobs.ping"}},
                              {"kind": "event", "event": s3_event},
                              {"kind": "event", "event": task_event}])
    assert the_report(result)["boto3_in_init"] is False
    assert [r["ok"] for r in result["responses"]] == [True, True, True], result["stderr"]
    assert [r["response"] for r in result["responses"]] == ["pong", "stored", 5]
    assert result["jobs_ran"] == ["ping", "on_upload:a.txt", "add:2+3"]


def test_remote_env_loads_the_sdk_in_init_and_applies_the_variables(tmp_path: Path, moto_endpoint: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="remote-env-tests")
    s3.put_object(Bucket="remote-env-tests", Key="env.json", Body=json.dumps({"DJSITE_REMOTE": "from-s3"}))
    root = make_task_root(tmp_path, base_stage(remote_env="s3://remote-env-tests/env.json"))
    result = run_probe(root, [HTTP_HOME, {"kind": "call", "function": "djsite.jobs.environment"}],
                       env={"AWS_ENDPOINT_URL_S3": moto_endpoint})
    report = the_report(result)
    assert report["ok"] is True and report["boto3_in_init"] is True and "boto3" in report["sdk_modules"]
    assert report["remote_env_ms"] > 0
    assert result["responses"][1]["response"]["DJSITE_REMOTE"] == "from-s3"


def test_an_app_that_uses_boto3_gets_the_real_one(tmp_path: Path, moto_endpoint: str) -> None:
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket="app-owns-this")
    root = make_task_root(tmp_path, base_stage())
    result = run_probe(root, [{"kind": "call", "function": "djsite.awsuse.bucket_names"}, SDK],
                       env={"AWS_ENDPOINT_URL_S3": moto_endpoint, "DJSITE_IMPORTS_BOTO3": "1"})
    assert the_report(result)["boto3_in_init"] is True  # the app's own import, at load
    assert "app-owns-this" in result["responses"][0]["response"]
    assert result["responses"][1]["response"]["client_error_is_real"] is True


def test_a_stage_can_turn_the_deferral_off(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage(eager_init_defer_imports=False))
    assert "EAGER_INIT_DEFER_IMPORTS=False" in (root / "zappa_settings.py").read_text()
    result = run_probe(root, [HTTP_HOME, SDK])
    assert the_report(result)["boto3_in_init"] is True
    assert result["responses"][1]["response"]["utilities_boto3"] == "module"  # upstream's import, as it was


# -- The upstream layout the deferral relies on: a release that changes it fails here ---------------------------

def _import_chain() -> set[str]:
    """The zappa modules ``zappa.handler`` imports, from a fresh interpreter."""
    code = "import sys, zappa.handler; print(' '.join(m for m in sys.modules if m.startswith('zappa')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def _top_level_imports(module: str) -> set[str]:
    source = (ZAPPA_DIR / (module.split(".", 1)[1] + ".py")).read_text()
    found: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_listed_upstream_modules_import_the_sdk_on_the_handler_path() -> None:
    chain = _import_chain()
    assert "zappa.utilities" in chain and "zappa.handler" in chain
    importers = {module for module in chain if module != "zappa" and _top_level_imports(module) & set(SDK_MODULES)}
    listed = {deferral.importer for deferral in UPSTREAM_DEFERRALS if set(deferral.modules) & set(SDK_MODULES)}
    assert importers == listed, (
        f"upstream's handler path imports the AWS SDK at module level in {sorted(importers)}; "
        f"zappa_eager/runtime/deferred.py defers it for {sorted(listed)}: update UPSTREAM_DEFERRALS")
    for deferral in UPSTREAM_DEFERRALS:
        assert set(deferral.modules) <= _top_level_imports(deferral.importer)


def test_with_the_stand_ins_zappa_handler_imports_no_sdk_and_upstream_names_resolve() -> None:
    """Fails loudly if upstream starts reading anything else of boto3/botocore at import time."""
    code = textwrap.dedent("""
        import json, sys, typing
        from zappa_eager.runtime.deferred import deferred_imports
        with deferred_imports():
            import zappa.handler
        loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 's3transfer'))
        import zappa.utilities as u
        hints = typing.get_type_hints(u.S3EventSource.__init__)
        import boto3
        print(json.dumps({"loaded": loaded, "session_is_real": hints["session"] is boto3.Session,
                          "boto3_in_modules_is_real": type(sys.modules["boto3"]).__name__}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert json.loads(out) == {"loaded": [], "session_is_real": True, "boto3_in_modules_is_real": "module"}


@pytest.mark.parametrize("already", ["boto3", "zappa.utilities"])
def test_nothing_is_deferred_once_the_sdk_or_the_importer_is_loaded(already: str) -> None:
    code = textwrap.dedent(f"""
        import sys, importlib
        importlib.import_module({already!r})
        from zappa_eager.runtime.deferred import deferred_imports
        with deferred_imports():
            import zappa.handler
        import zappa.utilities as u
        print(type(u.boto3).__name__)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.strip() == "module"


# -- werkzeug: registered without its __init__ (its server and test client), which runs on first use ----------

def test_zappa_handler_imports_werkzeug_wrappers_without_the_server_and_the_package_still_works() -> None:
    code = textwrap.dedent("""
        import json, sys
        from zappa_eager.runtime.deferred import deferred_imports, resolve_deferred_names
        with deferred_imports():
            import zappa.handler
        before = [type(zappa.handler.Response).__name__, "werkzeug.wrappers" in sys.modules]
        resolved = resolve_deferred_names()  # what boot does once the app is built, unless it is ASGI
        skipped = [m for m in ("werkzeug.serving", "werkzeug.test", "http.server") if m not in sys.modules]
        import werkzeug
        from werkzeug import Client, run_simple
        import werkzeug.serving, werkzeug.test, werkzeug.wrappers
        try:
            werkzeug.no_such_name
            missing = "no error"
        except AttributeError as exc:
            missing = str(exc)
        print(json.dumps({"before": before, "resolved": resolved, "skipped": skipped,
                          "same": [Client is werkzeug.test.Client, run_simple is werkzeug.serving.run_simple,
                                   werkzeug.Response is zappa.handler.Response is werkzeug.wrappers.Response],
                          "kind": type(werkzeug).__name__, "missing": missing}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert json.loads(out) == {"before": ["DeferredName", False],
                               "resolved": ["werkzeug.wrappers.Response", "werkzeug.wsgi.ClosingIterator"],
                               "skipped": ["werkzeug.serving", "werkzeug.test", "http.server"],
                               "same": [True, True, True], "kind": "module",
                               "missing": "module 'werkzeug' has no attribute 'no_such_name'"}


def test_werkzeugs_init_only_re_exports_its_submodules() -> None:
    """Running it late is only safe while it has no effect of its own: a release that adds one fails here."""
    import werkzeug

    tree = ast.parse(Path(werkzeug.__file__).read_text())
    for node in tree.body:
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        relative = isinstance(node, ast.ImportFrom) and (node.level == 1 or node.module == "__future__")
        typing_import = isinstance(node, ast.Import) and [a.name for a in node.names] == ["typing"]
        module_getattr = isinstance(node, ast.FunctionDef) and node.name == "__getattr__"
        assert docstring or relative or typing_import or module_getattr, ast.dump(node)[:200]


def test_asyncio_waits_for_an_asgi_app_and_iscoroutinefunction_answers_as_asyncio_would() -> None:
    code = textwrap.dedent("""
        import json, sys
        from zappa_eager.runtime.deferred import deferred_imports
        with deferred_imports():
            import zappa.handler
        before = "asyncio" in sys.modules
        async def asgi(scope, receive, send): pass
        def wsgi(environ, start_response): pass
        answers = [zappa.handler.LambdaHandler._is_asgi_app(asgi), zappa.handler.LambdaHandler._is_asgi_app(wsgi)]
        still_deferred = "asyncio" in sys.modules
        import asyncio
        print(json.dumps({"before": before, "answers": answers, "still_deferred": still_deferred,
                          "same": zappa.handler.asyncio.iscoroutinefunction is asyncio.iscoroutinefunction,
                          "asgi": zappa.asgi.asyncio.new_event_loop is asyncio.new_event_loop}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert json.loads(out) == {"before": False, "answers": [True, False], "still_deferred": False,
                               "same": True, "asgi": True}
