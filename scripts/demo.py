"""The local demo: deploy the example Django app to a local AWS (moto) with the real `zappa`
CLI, run the deployed package in the local Lambda emulator, then compare lazy (upstream)
and eager cold starts with `zappa bench`. No AWS account, nothing leaves 127.0.0.1.

Run through ``scripts/demo`` (which creates the virtualenv first).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "django_app"
STAGE = "demo"
BASE_STAGE = "slim"
#: Every service `zappa deploy/update` talks to, pointed at moto.
SERVICES = ("s3", "lambda", "iam", "apigateway", "apigatewayv2", "events", "logs", "cloudformation", "sts",
            "cloudwatch", "sns", "dynamodb", "acm", "route53", "elbv2", "cognito-idp", "efs",
            "application-autoscaling")
#: The requests a new user would make: an HTML page, the API list, the admin login.
CHECKS = (
    ("GET", "/", 200, "<html"),
    ("GET", "/products/", 200, "<html"),
    ("GET", "/api/products/", 200, '"results"'),
    ("GET", "/admin/login/", 200, "Django administration"),
    ("GET", "/healthz", 200, '"status": "ok"'),
)
BUCKET = "zappa-eager-demo"
#: Upstream's CLI prints this, then the traceback, when a command raises.
CRASH = "Oh no! An error occurred!"
#: Upstream's last line of a successful `zappa update`.
UPDATED = "Your updated Zappa deployment is live"
#: How botocore reports moto_server's answer to an operation it has no route for.
UNROUTED = re.compile(r"An error occurred \(404\) when calling the (\w+) operation: <!doctype html>", re.I)


def step(number: int, total: int, text: str) -> None:
    print(f"\n\033[1m[{number}/{total}] {text}\033[0m", flush=True)


@dataclass(frozen=True)
class Ran:
    code: int
    output: str
    crash: str  # upstream's "Oh no! An error occurred!" report, when held back (``hold_crash``)


def run(argv: list[str], cwd: Path, env: dict[str, str], log: Path, *, check: bool = True,
        hold_crash: bool = False) -> Ran:
    """Run a command, echoing its output indented; fail loudly with the log path unless ``check`` is off.

    With ``hold_crash``, upstream's crash report (from "Oh no! An error occurred!" on: a traceback) is
    not echoed but returned, so the caller prints it only for a failure it cannot explain.
    """
    print("    $ " + " ".join(argv), flush=True)
    lines: list[str] = []
    crash: list[str] = []
    with log.open("a") as sink, subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                                  stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sink.write(line)
            lines.append(line)
            if hold_crash and (crash or CRASH in line):
                crash.append("    " + line)
            else:
                print("    " + line.rstrip(), flush=True)
        code = proc.wait()
    if code != 0 and check:
        print("".join(crash), end="", flush=True)
        raise SystemExit(f"demo: `{' '.join(argv)}` failed with exit code {code}; see {log}")
    return Ran(code, "".join(lines), "".join(crash))


def unsupported_by_moto(output: str) -> str | None:
    """The AWS operation moto_server does not route (it answers an unknown URL with HTTP 404 HTML), if any.

    Only that signature counts: any other failure of a zappa command fails the demo.
    """
    match = UNROUTED.search(output)
    return match.group(1) if match else None


def run_update(app: Path, env: dict[str, str], log: Path, lambda_client: Any, s3: Any, function_name: str,
               archive_key: str, deployed_sha: str) -> dict[str, Any]:
    """``zappa update`` to its end; should it stop at an API moto lacks, explain that instead of a traceback."""
    archive_before = s3.head_object(Bucket=BUCKET, Key=archive_key)["ETag"]
    ran = run(["zappa", "update", STAGE], app, env, log, check=False, hold_crash=True)
    operation = unsupported_by_moto(ran.output) if ran.code else None
    if ran.code and operation is None:
        print(ran.crash, end="", flush=True)
        raise SystemExit(f"demo: `zappa update {STAGE}` failed with exit code {ran.code}; see {log}")
    config = lambda_client.get_function(FunctionName=function_name)["Configuration"]
    archive_after = s3.head_object(Bucket=BUCKET, Key=archive_key)["ETag"]
    if config["CodeSha256"] == deployed_sha or archive_after == archive_before:
        raise SystemExit(f"demo: `zappa update {STAGE}` did not replace the function code and the project archive")
    completed = ran.code == 0 and UPDATED in ran.output
    if operation:
        print(f"    \033[33mzappa update stopped at Lambda {operation}: moto_server does not implement it "
              f"(HTTP 404;\n    the traceback is in {log}). Checked: the function now runs the new handler zip "
              "and S3 holds\n    the new archive.\033[0m")
    elif completed:
        print("    zappa update ran to its end; the function runs the new handler zip and S3 holds the new archive")
    else:
        raise SystemExit(f"demo: `zappa update {STAGE}` exited 0 without {UPDATED!r}; see {log}")
    return {"completed": completed, "unsupported_by_moto": [f"lambda:{operation}"] if operation else [],
            "code_sha256": config["CodeSha256"]}


def app_virtualenv(path: Path, log: Path) -> Path:
    """A virtualenv holding only what the example app needs (plus zappa-eager), like a user's project.

    Zappa packages the virtualenv named by VIRTUAL_ENV; packaging the tooling virtualenv
    (moto, matplotlib, mypy...) would make a package no user would deploy.
    """
    stamp = path / ".demo-app-installed"
    sources = [ROOT / "pyproject.toml", APP / "requirements.txt", *sorted((ROOT / "zappa_eager").rglob("*.py"))]
    # The interpreter and pip constraints (scripts/test's Django line) it was made with: another one rebuilds it.
    constraints = [Path(c).read_text().strip() for c in os.environ.get("PIP_CONSTRAINT", "").split()
                   if Path(c).is_file()]
    made_by = f"python {sys.version.split()[0]}; constraints: {'; '.join(constraints) or 'none'}\n"
    if (stamp.exists() and stamp.read_text() == made_by
            and all(src.stat().st_mtime <= stamp.stat().st_mtime for src in sources)):
        print(f"    reusing {path}")
        return path
    print(f"    creating {path} with zappa-eager and examples/django_app/requirements.txt")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    run([str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(ROOT), "-r", str(APP / "requirements.txt")], ROOT, env, log)
    stamp.write_text(made_by)
    return path


def prepare_app(work: Path, endpoint: str) -> Path:
    app = work / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("tests", "*.sqlite3", "__pycache__", "staticfiles",
                                                            ".pytest_cache"))
    settings = json.loads((APP / "zappa_settings.json").read_text())
    settings[STAGE] = {
        "extends": BASE_STAGE,
        "aws_endpoint_urls": {service: endpoint for service in SERVICES},
        "touch": False,  # upstream would GET the (fake) API Gateway URL: no network but loopback
        "delete_local_zip": False,  # keep the deployed package to run it in the emulator
        # The runtime of the Python that packages: its bytecode is what Lambda would use.
        "runtime": f"python{sys.version_info[0]}.{sys.version_info[1]}",
    }
    (app / "zappa_settings.json").write_text(json.dumps(settings, indent=2))
    return app


def deployed_package(app: Path, lambda_client: Any, function_name: str) -> Path:
    """The local handler zip whose SHA-256 is the code Lambda (moto) holds: what was deployed."""
    deployed = lambda_client.get_function(FunctionName=function_name)["Configuration"]["CodeSha256"]
    for candidate in sorted(app.glob("handler_*.zip"), key=lambda p: p.stat().st_mtime, reverse=True):
        digest = base64.b64encode(hashlib.sha256(candidate.read_bytes()).digest()).decode()
        if digest == deployed:
            return candidate
    raise SystemExit(f"demo: no local handler zip matches the deployed CodeSha256 {deployed}")


#: Top-level entries that would mean tooling was shipped (ours, zappa's CLI-only dependencies, the bench's).
TOOLING = ("zappa_eager/cli.py", "zappa_eager/settings.py", "zappa_eager/bench/", "zappa_eager/emulator/",
           "zappa_eager/packaging/", "troposphere/", "pip/", "setuptools/", "cfn_flip/", "moto/", "matplotlib/",
           "awslambdaric/", "pytest/")


def package_facts(package: Path, s3: Any, archive_key: str, work: Path) -> dict[str, Any]:
    """Size, files, bytecode and tooling of what was deployed: the handler zip and the archive in S3."""
    from zappa_eager.packaging.facts import describe_package

    archive = work / "deployed-project.tar.gz"
    s3.download_file(BUCKET, archive_key, str(archive))
    facts = describe_package(package, archive)
    with zipfile.ZipFile(package) as handler_zip:
        names = handler_zip.namelist()
    with tarfile.open(archive) as project:
        names += project.getnames()
    tooling = sorted({name for name in names if name.startswith(TOOLING)})
    print(f"    deployed package: {facts.summary()}; tooling inside: {len(tooling)} files")
    return {"facts": facts.as_dict(), "tooling": tooling[:20]}


def exercise(task_root: Path, env_vars: dict[str, str], function_name: str) -> list[dict[str, Any]]:
    from zappa_eager.emulator import Emulator, events

    results: list[dict[str, Any]] = []
    with Emulator(task_root, env=env_vars, function_name=function_name, memory_mb=1024, timeout_s=30) as emu:
        for init_type in ("on-demand", "provisioned-concurrency"):
            environment = emu.start_environment(init_type)
            for method, path, status, needle in CHECKS:
                accept = "application/json" if path.startswith("/api/") else "text/html"
                result = environment.invoke(events.api_gateway_v1(method, path, headers={"Accept": accept}))
                ok = result.error is None and result.status_code == status and needle in (result.body or "")
                results.append({
                    "init_type": init_type, "method": method, "path": path, "status": result.status_code,
                    "expected_status": status, "expected_text": needle, "ok": ok,
                    "latency_ms": round(result.latency_ms, 1), "init_duration_ms": result.init_duration_ms,
                    "error": result.error,
                })
                mark = "ok " if ok else "FAIL"
                init = f" (waited for INIT {result.init_duration_ms:.0f} ms)" if result.init_duration_ms else ""
                print(f"    {mark} {init_type:<24} {method} {path:<18} -> {result.status_code} "
                      f"in {result.latency_ms:7.1f} ms{init}", flush=True)
            report = environment.init_report()
            if report:
                print(f"    init report: {json.dumps({k: v for k, v in report.items() if k.endswith('_ms')})}")
            environment.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer benchmark environments (what CI runs)")
    parser.add_argument("--output", default=str(ROOT / "bench-out" / "demo"), help="working and output folder")
    # One per Python line: runs with another interpreter (scripts/test's matrix cells) neither rebuild nor
    # clobber it.
    python_line = f"{sys.version_info[0]}.{sys.version_info[1]}"
    parser.add_argument("--app-venv", default=str(ROOT / f".venv-demo-app-py{python_line}"),
                        help="virtualenv the example app is packaged from (created if missing)")
    args = parser.parse_args(argv)

    import logging

    import boto3

    from zappa_eager.emulator.motoext import EXTENSIONS, MotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto_server's access log

    total = 8
    work = Path(args.output).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "demo.log"
    started = time.perf_counter()

    step(1, total, "Starting a local AWS (moto_server) on 127.0.0.1")
    server = MotoServer("127.0.0.1")
    endpoint = server.start()
    print(f"    moto_server at {endpoint}")
    print(f"    plus {', '.join(EXTENSIONS)}, which `zappa update` calls and moto lacks "
          "(zappa_eager/emulator/motoext.py)")
    env = dict(os.environ, AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo", AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_PROFILE", None)
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    summary: dict[str, Any] = {"endpoint": endpoint, "stage": STAGE}
    try:
        step(2, total, "The example app's own virtualenv (what `zappa` packages)")
        app_venv = app_virtualenv(Path(args.app_venv).resolve(), log)
        env["VIRTUAL_ENV"] = str(app_venv)
        app = prepare_app(work, endpoint)
        function_name = f"shop-{STAGE}"
        lambda_client = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1")
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")

        step(3, total, f"zappa deploy {STAGE}  (examples/django_app, slim_handler, against moto)")
        run(["zappa", "deploy", STAGE], app, env, log)
        config = lambda_client.get_function(FunctionName=function_name)["Configuration"]
        archive_key = f"{STAGE}_shop_current_project.tar.gz"
        s3.head_object(Bucket=BUCKET, Key=archive_key)
        print(f"    Lambda function {config['FunctionName']} ({config['Handler']}, {config['Runtime']}) "
              f"and s3://{BUCKET}/{archive_key} are in moto")
        summary["deploy"] = {"function": config["FunctionName"], "handler": config["Handler"],
                             "archive": f"s3://{BUCKET}/{archive_key}", "code_sha256": config["CodeSha256"]}

        step(4, total, f"zappa update {STAGE}  (a new package over the deployed one)")
        summary["update"] = run_update(app, env, log, lambda_client, s3, function_name, archive_key,
                                       config["CodeSha256"])
        config = lambda_client.get_function(FunctionName=function_name)["Configuration"]
        summary["unrouted"] = list(server.unrouted)
        if server.unrouted:
            print(f"    \033[33mmoto_server had no route for: {', '.join(server.unrouted)}\033[0m")
        else:
            print("    moto_server answered every AWS call `zappa deploy` and `zappa update` made")
        number = 5

        step(number, total, "Running the deployed package in the local Lambda emulator (real awslambdaric)")
        package = deployed_package(app, lambda_client, function_name)
        task_root = work / "task"
        with zipfile.ZipFile(package) as archive:
            archive.extractall(task_root)
        print(f"    {package.name} matches the deployed CodeSha256; unpacked to {task_root}")
        summary["package"] = {"name": package.name, "code_sha256": config["CodeSha256"],
                              **package_facts(package, s3, archive_key, work)}
        env_vars = dict(config.get("Environment", {}).get("Variables", {}))
        env_vars["AWS_ENDPOINT_URL_S3"] = endpoint  # the slim handler fetches the archive zappa uploaded
        results = exercise(task_root, env_vars, function_name)
        summary["requests"] = results
        number += 1

        step(number, total, "Lazy (upstream zappa) versus eager: zappa bench")
        bench_dir = work / "bench"
        # --no-cache: each demo's stage names a new moto port, so its packages are never reused
        bench_args = ["zappa", "bench", STAGE, "--output", str(bench_dir), "--slim", "stage", "--no-cache"]
        if args.quick:
            bench_args.append("--quick")
        run(bench_args, app, env, log)  # exits 0 when only upstream's modes hit a limit: that is a measurement
        bench_doc = json.loads((bench_dir / "bench.json").read_text())
        summary["bench"] = {"json": str(bench_dir / "bench.json"), "chart": str(bench_dir / "bench.png"),
                            "phases": bench_doc.get("phases"), "limits": bench_doc.get("limits", [])}
        if summary["bench"]["limits"]:
            print(f"    upstream's modes hit {len(summary['bench']['limits'])} limit(s) (function timeout or INIT "
                  "limit): measured and shown, not a failure")
        number += 1

        step(number, total, "Your cold starts as CloudWatch Logs shows them: zappa coldstarts")
        from zappa_eager.emulator import events
        from zappa_eager.emulator.cloudwatch import ship_demo_runs

        # The emulator's lines of the deployed package, run with upstream's handler (version 1) and ours (2).
        summary["coldstarts"] = ship_demo_runs(task_root, work=work, endpoint=endpoint, function_name=function_name,
                                               env=env_vars, event=events.api_gateway_v1("GET", "/healthz"),
                                               cold_starts=2 if args.quick else 3)
        coldstarts_dir = work / "coldstarts"
        run(["zappa", "coldstarts", STAGE, "--source", "filter", "--since", "1h", "--output", str(coldstarts_dir)],
            app, env, log)  # moto has no Logs Insights: read with FilterLogEvents
        summary["coldstarts"]["json"] = str(coldstarts_dir / "coldstarts.json")
        number += 1

        step(number, total, "Done")
        failed = [r for r in results if not r["ok"]]
        summary["ok"] = not failed
        summary["seconds"] = round(time.perf_counter() - started, 1)
        (work / "demo.json").write_text(json.dumps(summary, indent=2, default=str))
        print(f"    requests: {len(results) - len(failed)}/{len(results)} returned the expected status and body")
        print(f"    chart:    {bench_dir / 'bench.png'}")
        print(f"    figures:  {bench_dir / 'bench.json'}")
        print(f"    summary:  {work / 'demo.json'}  ({summary['seconds']} s)")
        return 1 if failed else 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
