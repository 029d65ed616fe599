"""``zappa bench`` runs the app with none of the stage's environment that points outside this machine.

The end-to-end tests run the real ``zappa bench`` (``--zip`` of a small package: no packaging)
on a stage whose variables point at a fake production host. The packaged app is a WSGI probe
that reports ``os.environ`` - at import and on every request, from every emulated environment
(pre-initialized, on-demand, the import profile's) - to a collector on 127.0.0.1, so the tests
assert on what the function really saw, after upstream's handler applied zappa_settings.py's
ENVIRONMENT_VARIABLES and the remote_env file.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click import ClickException

from tests.conftest import REPO, RUNTIME_FILES
from zappa_eager.bench.environment import is_local_value, plan_environment
from zappa_eager.settings import EAGER_KEYS

PROD_DB = "postgres://prod.example.com:5432/shop"
TOKEN = "sk_live_prod_token_0123456789"
BENCH_REPLICA = "postgres://127.0.0.1:5432/bench"
BENCH_QUEUE = "http://127.0.0.1:9324/queue/bench"
#: What the upstream handler needs in the package besides the app (a deployed package carries them).
PACKAGES = ("zappa", "werkzeug", "markupsafe", "durationpy", "boto3", "botocore", "s3transfer", "jmespath",
            "dateutil", "urllib3", "six", "certifi")
PROBE = '''\
"""Reports os.environ to the test's collector (PROBE_URL), at import and on each request."""
import json
import os
import urllib.request


def report(when):
    data = json.dumps({"when": when, "environ": dict(os.environ)}).encode()
    urllib.request.urlopen(urllib.request.Request(os.environ["PROBE_URL"], data=data, method="POST"), timeout=10)


report("import")


def app(environ, start_response):
    report("request")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
'''


def stage(collector: str, **extra: Any) -> dict[str, Any]:
    """A production-like stage: variables pointing at a fake production host, and a remote_env file."""
    return {
        "app_function": "envprobe.app",
        "project_name": "envprobe",
        "s3_bucket": "zappa-eager-tests",
        "aws_region": "us-east-1",
        "keep_warm": False,
        "aws_environment_variables": {
            "DATABASE_URL": PROD_DB,
            "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/prod-orders",
            "CACHE_URL": "redis://127.0.0.1:6379/0",
            "PROBE_URL": collector,  # a URL on this machine: kept
            "WORKERS": "4",
        },
        "environment_variables": {
            "API_TOKEN": TOKEN,
            "SEARCH_URL": "https://search.prod.example.com/",
            "REPLICA_URL": "postgres://replica.prod.example.com/shop",
            "AUTO_MIGRATE": "1",
            "DJANGO_SETTINGS_MODULE": "shop.settings.production",
        },
        "remote_env": "s3://prod-bucket/env.json",
        "bench_environment": {"REPLICA_URL": BENCH_REPLICA, "QUEUE_URL": BENCH_QUEUE, "BENCH_ONLY": "yes"},
        **extra,
    }


class Collector(ThreadingHTTPServer):
    reports: list[dict[str, Any]]


class _Receive(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        assert isinstance(server, Collector)
        server.reports.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector(("127.0.0.1", 0), _Receive)
    server.reports = []
    thread = threading.Thread(target=server.serve_forever, name="envprobe-collector", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _add_tree(archive: zipfile.ZipFile, source: Path, arcname: str) -> None:
    if source.is_file():
        archive.write(source, arcname)
        return
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            archive.write(path, f"{arcname}/{path.relative_to(source)}")


@pytest.fixture(scope="module")
def probe_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A zappa package of the probe app (what `zappa package` would ship; the bench swaps handler and settings)."""
    package = tmp_path_factory.mktemp("envprobe") / "envprobe-dev.zip"
    with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("envprobe.py", PROBE)
        archive.writestr("handler.py", (REPO / "zappa_eager" / "runtime" / "handler.py").read_text())
        archive.writestr("zappa_settings.py", "SLIM_HANDLER=False\nENVIRONMENT_VARIABLES={'API_TOKEN': 'packaged'}\n")
        for module in RUNTIME_FILES:
            archive.write(REPO / "zappa_eager" / module, f"zappa_eager/{module}")
        for name in PACKAGES:
            spec = importlib.util.find_spec(name)
            assert spec is not None and spec.origin is not None, name
            source = Path(next(iter(spec.submodule_search_locations))) if spec.submodule_search_locations \
                else Path(spec.origin)
            _add_tree(archive, source, source.name)
    return package


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "envprobe"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    return folder


def write_stage(project: Path, config: dict[str, Any]) -> None:
    (project / "zappa_settings.json").write_text(json.dumps({"dev": config}))


def run_bench(project: Path, package: Path, *extra: str) -> int:
    from zappa_eager.bench import run_bench_command
    from zappa_eager.cli import EagerZappaCLI

    return run_bench_command(EagerZappaCLI(), [
        "dev", "--zip", str(package), "--modes", "upstream,eager", "--environments", "1", "--warm", "1",
        "--burst", "0", "--idle", "0", "--unpack-runs", "0", "--output", str(project / "out"), *extra])


def seen(reports: list[dict[str, Any]]) -> list[dict[str, str]]:
    environs = [report["environ"] for report in reports]
    assert environs and {report["when"] for report in reports} == {"import", "request"}
    # both handlers (upstream's, byte for byte, and ours) and every kind of environment reported
    assert {e.get("AWS_LAMBDA_INITIALIZATION_TYPE") for e in environs} == {"on-demand", "provisioned-concurrency"}
    return environs


def test_the_bench_runs_the_app_without_the_stages_outside_environment(
        project: Path, probe_package: Path, collector: Collector, capsys: pytest.CaptureFixture[str]) -> None:
    collector_url = f"http://127.0.0.1:{collector.server_address[1]}/report"
    write_stage(project, stage(collector_url))

    code = run_bench(project, probe_package)
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err[-3000:]

    for environ in seen(collector.reports):
        for name in ("DATABASE_URL", "API_TOKEN", "SEARCH_URL"):
            assert name not in environ, name
        assert not [name for name, value in environ.items() if "prod.example.com" in value or "prod-" in value]
        assert environ["CACHE_URL"] == "redis://127.0.0.1:6379/0" and environ["WORKERS"] == "4"
        assert environ["AUTO_MIGRATE"] == "1" and environ["DJANGO_SETTINGS_MODULE"] == "shop.settings.production"
        assert environ["REPLICA_URL"] == BENCH_REPLICA and environ["QUEUE_URL"] == BENCH_QUEUE  # bench_environment
        assert environ["BENCH_ONLY"] == "yes"
        assert environ["STAGE"] == "dev"  # the handler did run zappa_settings.py's environment step
    lines = [line for line in captured.err.splitlines() if line.startswith("zappa bench: environment:")]
    assert "DATABASE_URL (aws_environment_variables)" in lines[0] and "API_TOKEN (environment_variables)" in lines[0]
    assert lines[0].startswith("zappa bench: environment: dropped") and "SEARCH_URL" in lines[0]
    assert "kept, local values: CACHE_URL" in lines[1] and "AUTO_MIGRATE" in lines[1] and "PROBE_URL" in lines[1]
    assert "overridden by bench_environment: QUEUE_URL (aws_environment_variables), REPLICA_URL" in lines[2]
    assert "set by bench_environment: BENCH_ONLY" in lines[3] and "remote_env" in lines[4]
    assert captured.err.index("environment: dropped") < captured.err.index("using envprobe-dev.zip")  # before it runs
    output = captured.out + captured.err
    assert TOKEN not in output and "prod.example.com" not in output and "WARNING" not in output  # names only
    document = json.loads((project / "out" / "bench.json").read_text())
    assert document["errors"] == []
    assert document["settings"]["environment"] == {
        "stage_env": False, "kept": ["CACHE_URL", "PROBE_URL", "WORKERS", "AUTO_MIGRATE", "DJANGO_SETTINGS_MODULE"],
        "dropped": ["DATABASE_URL", "API_TOKEN", "SEARCH_URL"], "overridden": ["QUEUE_URL", "REPLICA_URL"],
        "added": ["BENCH_ONLY"], "reserved": [], "remote_env": "empty"}


def test_stage_env_keeps_the_stages_variables_and_bench_environment_still_wins(
        project: Path, probe_package: Path, collector: Collector, capsys: pytest.CaptureFixture[str]) -> None:
    collector_url = f"http://127.0.0.1:{collector.server_address[1]}/report"
    write_stage(project, stage(collector_url))

    code = run_bench(project, probe_package, "--stage-env")
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err[-3000:]

    for environ in seen(collector.reports):
        assert environ["DATABASE_URL"] == PROD_DB and environ["API_TOKEN"] == TOKEN
        assert environ["SEARCH_URL"] == "https://search.prod.example.com/"
        # over the Lambda variable and over the one baked into zappa_settings.py, which the handler applies last
        assert environ["QUEUE_URL"] == BENCH_QUEUE and environ["REPLICA_URL"] == BENCH_REPLICA
    assert "zappa bench: WARNING: --stage-env" in captured.err
    assert "environment: kept, --stage-env: DATABASE_URL (aws_environment_variables)" in captured.err
    assert "dropped" not in captured.err and TOKEN not in captured.out + captured.err
    document = json.loads((project / "out" / "bench.json").read_text())
    assert document["settings"]["environment"]["stage_env"] is True


def test_remote_env_is_served_empty_from_the_loopback_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the bench puts where the stage's remote_env points: an empty object, never the bucket's file."""
    from zappa_eager.bench.function import s3_objects
    from zappa_eager.bench.modes import MODE_SPECS
    from zappa_eager.bench.variants import Package, render_settings, settings_value
    from zappa_eager.cli import EagerZappaCLI

    write_stage(tmp_path, stage("http://127.0.0.1:9/report"))
    monkeypatch.chdir(tmp_path)
    cli = EagerZappaCLI()
    cli.api_stage, cli.load_credentials = "dev", False
    cli.load_settings()
    settings = render_settings(cli, False, MODE_SPECS["eager"], ())
    assert settings_value(settings, "REMOTE_ENV") == "s3://prod-bucket/env.json"
    assert s3_objects(Package("eager", tmp_path / "p.zip"), settings) == [("prod-bucket", "env.json", b"{}")]
    assert plan_environment(cli.stage_config, "dev").remote_env


@pytest.mark.parametrize(("value", "local"), [
    ("", True), ("1", True), ("-0.5", True), ("False", True), ("off", True),
    ("/var/task/data", True), ("sqlite:///tmp/db.sqlite3", True), ("file:///srv/media", True),
    ("postgres://user:secret@127.0.0.1:5432/shop", True), ("redis://localhost:6379/0", True),
    ("redis://[::1]:6379", True), ("127.0.0.1", True), ("localhost:11211", True),
    ("127.0.0.1:11211,127.0.0.2:11211", True), ("[::1]:5432", True), ("postgres:///shop", True),
    (PROD_DB, False), ("prod.example.com", False), ("prod.example.com:5432", False), (TOKEN, False),
    ("shop.settings", False), ("production", False), ("//cdn.example.com/static/", False),
    ("postgres://127.0.0.1/shop?host=prod.example.com", False), ("http://127.0.0.1.prod.example.com/", False),
    ("http://localhost@prod.example.com/", False), ("127.0.0.1:11211,prod.example.com:11211", False),
    ("redis://127.0.0.1 https://prod.example.com", False), ("http://127.0.0.1/#https://prod.example.com", False),
    ("0.0.0.0", False), ('{"host": "127.0.0.1"}', False),
])
def test_a_value_is_local_only_if_it_cannot_point_outside_this_machine(value: str, local: bool) -> None:
    assert is_local_value(value) is local


def test_the_plan_keeps_local_values_and_reports_names_only() -> None:
    plan = plan_environment(stage("http://127.0.0.1:1/x", aws_environment_variables={
        "DATABASE_URL": PROD_DB, "AWS_REGION": "eu-west-1", "PORT": 8000}), "dev")
    assert dict(plan.lambda_env) == {"PORT": "8000", "REPLICA_URL": BENCH_REPLICA, "QUEUE_URL": BENCH_QUEUE,
                                     "BENCH_ONLY": "yes"}
    assert dict(plan.settings_env) == {"AUTO_MIGRATE": "1", "DJANGO_SETTINGS_MODULE": "shop.settings.production"}
    assert plan.reserved == ("AWS_REGION",) and plan.added == ("QUEUE_URL", "BENCH_ONLY")
    assert "not set (reserved by Lambda): AWS_REGION" in "\n".join(plan.lines())
    every = plan_environment(stage("http://127.0.0.1:1/x"), "dev", stage_env=True)
    assert every.dropped == () and every.settings_env["API_TOKEN"] == TOKEN
    assert "REPLICA_URL" not in every.settings_env  # bench_environment's value is not overwritten by the handler
    text = "\n".join(plan.lines() + every.lines())
    assert TOKEN not in text and "prod.example.com" not in text and "127.0.0.1" not in text.replace(
        "S3 on 127.0.0.1", "")
    assert plan_environment({}, "dev").lines() == ["environment: the stage defines no variables"]


@pytest.mark.parametrize(("value", "problem", "fix"), [
    (["DATABASE_URL=postgres://127.0.0.1/db"], "expected an object of variable names to string values",
     '"bench_environment": {"DATABASE_URL": "postgres://127.0.0.1:5432/bench"}'),
    ("DATABASE_URL=postgres://127.0.0.1/db", "expected an object", "use e.g."),
    ({"PORT": 5432}, "Invalid bench_environment.PORT = 5432", 'quote it: "PORT": "5432"'),
    ({"DEBUG": True}, "Invalid bench_environment.DEBUG = true", 'quote it: "DEBUG": "true"'),
    ({"DATABASE": {"host": "127.0.0.1"}}, "expected a string", "use e.g."),
    ({"SECRET_KEY": None}, "Invalid bench_environment.SECRET_KEY = null", "use e.g."),
    ({"1ST": "a"}, 'Invalid bench_environment = "1ST"', "starting with a letter"),
    ({"MY-VAR": "a"}, "not a valid environment variable name", "use letters, digits and _"),
    ({"AWS_REGION": "eu-west-1"}, 'Invalid bench_environment = ["AWS_REGION"]', "remove AWS_REGION"),
    ({"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:4566"}, "set by Lambda or by zappa bench itself",
     "remove AWS_ENDPOINT_URL_S3"),
])
def test_bad_bench_environment_is_rejected_when_the_stage_loads(value: Any, problem: str, fix: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from zappa_eager.cli import EagerZappaCLI

    write_stage(tmp_path, {**stage("http://127.0.0.1:1/x"), "bench_environment": value})
    monkeypatch.chdir(tmp_path)
    cli = EagerZappaCLI()
    cli.api_stage = "dev"
    with pytest.raises(ClickException) as raised:
        cli.load_settings()  # every command: before any AWS client is created
    message = raised.value.message
    assert "bench_environment" in message and "in stage 'dev'" in message
    assert problem in message and fix in message
    assert "bench_environment" in EAGER_KEYS


def test_a_bad_bench_environment_stops_the_bench_before_anything_runs(
        project: Path, probe_package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stage(project, {**stage("http://127.0.0.1:1/x"), "bench_environment": {"DB_PORT": 5432}})
    assert run_bench(project, probe_package) == 1
    captured = capsys.readouterr()
    assert "Error: Invalid bench_environment.DB_PORT = 5432 in stage 'dev'" in captured.err
    assert 'Fix: quote it: "DB_PORT": "5432"' in captured.err
    assert "using envprobe-dev.zip" not in captured.err and "environment:" not in captured.err
    assert not (project / "out").exists()


def test_no_variable_of_the_shell_reaches_the_function(project: Path, probe_package: Path, collector: Collector,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own shell (where `zappa bench` runs) may hold production variables too."""
    collector_url = f"http://127.0.0.1:{collector.server_address[1]}/report"
    write_stage(project, {**stage(collector_url), "bench_environment": {}})
    monkeypatch.setenv("SHELL_DATABASE_URL", PROD_DB)
    assert os.environ["SHELL_DATABASE_URL"] == PROD_DB
    assert run_bench(project, probe_package, "--modes", "eager") == 0
    assert all("SHELL_DATABASE_URL" not in environ for environ in seen(collector.reports))
