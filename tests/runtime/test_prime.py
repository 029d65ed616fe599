"""Runtime priming (zappa_eager.runtime.prime) and warm-up fidelity: each step does what it claims, and the
examples' first request in the emulator (real awslambdaric) does nothing for the first time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, REPO, RUNTIME_FILES, render_settings
from tests.emulator.conftest import BOTO_PACKAGES, add_packages
from zappa_eager.emulator import Emulator, Environment, events
from zappa_eager.runtime.warmup import WARMUP_API_ID, warmup_event, warmup_host

FLASK_APP = REPO / "examples" / "flask_app"
DJANGO_APP = REPO / "examples" / "django_app"
ZAPPA_PACKAGES = ("zappa", "werkzeug", "markupsafe", "durationpy", *BOTO_PACKAGES)
FLASK_PACKAGES = ("flask", "jinja2", "itsdangerous", "click", "blinker", *ZAPPA_PACKAGES)
DJANGO_PACKAGES = ("django", "asgiref", "sqlparse", "rest_framework", "whitenoise", "dj_database_url", *ZAPPA_PACKAGES)
PROBE = {"prime_probe": True}


# -- each priming step, in a fresh interpreter (gc.freeze and mimetypes are process-wide) ------------------------

def run_fresh(code: str, env: dict[str, str] | None = None) -> None:
    """Run ``code`` in a new interpreter with the repo importable; its asserts are the test."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=environment, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_init_mimetypes_loads_the_tables_and_the_url_regex() -> None:
    run_fresh("""
        import mimetypes, sys, urllib.parse
        from zappa_eager.runtime.prime import init_mimetypes
        # Up to 3.12 guess_type() splits URLs with a regex urllib.parse compiles on first use.
        regex = sys.version_info < (3, 13)
        assert not mimetypes.inited and (not regex or urllib.parse._typeprog is None)
        assert init_mimetypes() is True
        assert mimetypes.inited and (not regex or urllib.parse._typeprog is not None)
        assert init_mimetypes() is False  # already loaded: nothing to do
    """)


def test_init_mimetypes_leaves_an_app_without_mimetypes_alone() -> None:
    run_fresh("""
        import sys
        from zappa_eager.runtime.prime import init_mimetypes
        assert init_mimetypes() is False
        assert "mimetypes" not in sys.modules
    """)


CYCLE = """
    import gc, mimetypes, weakref
    from zappa_eager.runtime.prime import freeze_heap, prime_runtime
    gc.disable()  # only the code under test collects
    class Node: pass
    cycle = Node(); cycle.me = cycle; dead = weakref.ref(cycle); del cycle
    kept = [Node() for _ in range(50)]
"""


def test_freeze_heap_with_collect_frees_init_garbage_and_hides_the_rest_from_the_collector() -> None:
    run_fresh(CYCLE + """
    frozen = freeze_heap(collect=True)
    assert dead() is None
    assert frozen == gc.get_freeze_count() > 50
    assert not any(o is kept for o in gc.get_objects())  # later collections never walk it
    """)


def test_freeze_heap_without_collect_keeps_init_garbage_frozen() -> None:
    run_fresh(CYCLE + """
    assert freeze_heap(collect=False) > 50
    assert dead() is not None and not any(o is kept for o in gc.get_objects())
    """)


@pytest.mark.parametrize(("init_type", "event", "full"), [
    ("provisioned-concurrency", "init", True),
    ("snap-start", "init", True),
    ("on-demand", "init", False),
    ("provisioned-concurrency", "lazy-rebuild", False),
])
def test_prime_runtime_does_everything_only_where_no_caller_waits(init_type: str, event: str, full: bool) -> None:
    run_fresh(CYCLE + f"""
    assert prime_runtime({event!r}) == []
    assert mimetypes.inited is {full} and (dead() is None) is {full}
    assert gc.get_freeze_count() > 50
    """, env={"AWS_LAMBDA_INITIALIZATION_TYPE": init_type})


# -- the warm-up request looks like API Gateway's ------------------------------------------------------------------

def test_warmup_host_is_the_custom_domain_or_an_execute_api_host(monkeypatch: pytest.MonkeyPatch) -> None:
    assert warmup_host("api.example.com") == "api.example.com"
    assert warmup_host(None, "eu-west-1") == f"{WARMUP_API_ID}.execute-api.eu-west-1.amazonaws.com"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert warmup_host(None) == f"{WARMUP_API_ID}.execute-api.ap-south-1.amazonaws.com"


def test_warmup_event_carries_api_gateway_forwarding_headers_and_user_headers_win() -> None:
    event = warmup_event({"path": "/x", "headers": {"X-Forwarded-For": "203.0.113.9"}}, "h.example.com")
    assert event["headers"]["X-Forwarded-Proto"] == "https" and event["headers"]["X-Forwarded-Port"] == "443"
    assert event["headers"]["X-Forwarded-For"] == "203.0.113.9" and event["headers"]["Host"] == "h.example.com"
    assert event["multiValueHeaders"]["X-Forwarded-Proto"] == ["https"]


# -- the examples in the emulator ----------------------------------------------------------------------------------

def example_task_root(tmp_path: Path, app: Path, files: tuple[str, ...], packages: tuple[str, ...],
                      **stage_overrides: Any) -> Path:
    """The example laid out as ``zappa package`` ships it: app, rendered settings, our handler, runtime, packages."""
    stage = json.loads((app / "zappa_settings.json").read_text())["dev"]
    stage.update(stage_overrides)
    root = tmp_path / "task"
    root.mkdir()
    for name in files:
        source = app / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3*"))
        else:
            shutil.copy(source, root / name)
    render = tmp_path / "render"
    render.mkdir()
    (root / "zappa_settings.py").write_text(render_settings(stage, render))
    shutil.copy(REPO / "zappa_eager" / "runtime" / "handler.py", root / "handler.py")
    for module in RUNTIME_FILES:
        target = root / "zappa_eager" / module
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "zappa_eager" / module, target)
    shutil.copy(FIXTURES / "prime_probe.py", root / "prime_probe.py")
    add_packages(root, packages)
    return root


def probe(env: Environment) -> dict[str, Any]:
    result = env.invoke(PROBE)
    assert result.ok, (result.error, env.logs()[-3000:])
    payload: dict[str, Any] = result.payload
    return payload


@pytest.fixture(scope="module")
def flask_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return example_task_root(tmp_path_factory.mktemp("flask"), FLASK_APP, ("app.py", "static"), FLASK_PACKAGES)


@pytest.fixture
def flask_emulator(flask_root: Path) -> Iterator[Emulator]:
    with Emulator(flask_root, handler="prime_probe.lambda_handler", function_name="flaskapp-dev",
                  env={"PRIME_PROBE_WSGI": "app:app"}) as emu:
        yield emu


def test_flask_example_serves_its_routes_and_its_first_request_does_nothing_for_the_first_time(
    flask_emulator: Emulator,
) -> None:
    env = flask_emulator.start_environment("provisioned-concurrency")
    report = env.init_report()
    assert report is not None and report["ok"] is True, env.logs()
    assert [(w["path"], w["status"]) for w in report["warmup"] if w["round"] == 2] == [
        ("/healthz", 200), ("/", 200), ("/static/style.css", 200), ("/api/echo", 200)]
    at_init = probe(env)["at_init_end"]
    assert at_init["frozen"] > 10_000 and at_init["mimetypes_inited"] is True

    first = env.invoke(events.api_gateway_v1("GET", "/"))
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("text/html")
    assert 'href="/dev/static/style.css"' in str(first.body)  # served under the stage, as API Gateway calls it
    after_first = probe(env)["now"]
    assert after_first["new_modules"] == [] and after_first["new_regexes"] == []
    assert env.invoke(events.api_gateway_v1("GET", "/")).body == first.body

    echo = env.invoke(events.api_gateway_v1("GET", "/api/echo", query={"q": "hi"}))
    assert echo.json() == {"path": "/api/echo", "args": {"q": "hi"}, "method": "GET", "function": "flaskapp-dev"}
    css = env.invoke(events.api_gateway_v1("GET", "/static/style.css"))
    assert css.status_code == 200 and css.body == (FLASK_APP / "static" / "style.css").read_text()

    # The app saw the warm-up requests as it sees API Gateway's (REST API): same stage prefix, port, scheme.
    seen = probe(env)["seen"]
    warm = {(s["SCRIPT_NAME"], s["SERVER_PORT"], s["HTTP_X_FORWARDED_PROTO"]) for s in seen
            if s["HTTP_X_ZAPPA_EAGER_WARMUP"]}
    real = {(s["SCRIPT_NAME"], s["SERVER_PORT"], s["HTTP_X_FORWARDED_PROTO"]) for s in seen
            if not s["HTTP_X_ZAPPA_EAGER_WARMUP"]}
    assert len(seen) == 8 + 4 and warm == real == {("/dev", "443", "https")}
    assert env.invoke(events.api_gateway_v2("GET", "/healthz")).body == "ok\n"


def test_flask_example_on_demand_init_only_freezes_the_heap(tmp_path: Path) -> None:
    root = example_task_root(tmp_path, FLASK_APP, ("app.py", "static"), FLASK_PACKAGES, eager_init_warmup=[])
    with Emulator(root, handler="prime_probe.lambda_handler", function_name="flaskapp-dev") as emu:
        env = emu.start_environment("on-demand")
        at_init = probe(env)["at_init_end"]  # this first invoke ran INIT
        assert at_init["frozen"] > 10_000 and at_init["mimetypes_inited"] is False
        assert env.invoke(events.api_gateway_v1("GET", "/healthz")).body == "ok\n"


def test_django_example_first_request_compiles_no_regex(tmp_path: Path) -> None:
    """Warmed under another SCRIPT_NAME than API Gateway's, Django compiled a regex per URL the page reverses."""
    root = example_task_root(tmp_path, DJANGO_APP, ("shop", "catalog", "orders", "reviews", "templates", "static"),
                             DJANGO_PACKAGES, eager_init_warmup=["/healthz", "/"])
    with Emulator(root, handler="prime_probe.lambda_handler", function_name="shop-dev") as emu:
        env = emu.start_environment("provisioned-concurrency")
        report = env.init_report()
        assert report is not None and [w["status"] for w in report["warmup"]] == [200, 200, 200, 200], env.logs()
        first = env.invoke(events.api_gateway_v1("GET", "/"))
        assert first.status_code == 200 and 'href="/dev/products/"' in str(first.body), first.body
        after_first = probe(env)["now"]
        assert after_first["new_regexes"] == [] and after_first["new_modules"] == []
