"""The README's main job, end to end: `scripts/demo --quick` (deploy to moto, emulator, bench)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e


def test_demo_deploys_serves_and_compares(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"  # the `zappa` of this virtualenv: ours
    env.setdefault("VIRTUAL_ENV", str(Path(sys.executable).parent.parent))
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "demo.py"), "--quick", "--output", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]

    summary = json.loads((out / "demo.json").read_text())
    assert summary["ok"] is True
    assert summary["deploy"]["handler"] == "handler.lambda_handler"
    assert summary["deploy"]["archive"] == "s3://zappa-eager-demo/demo_shop_current_project.tar.gz"
    update = summary["update"]
    assert update["code_sha256"] != summary["deploy"]["code_sha256"]  # `zappa update` shipped new code
    # `zappa update` runs to its end: the demo's moto_server answers ListFunctionUrlConfigs (motoext), and
    # moto had a route for every other call deploy and update made.
    assert update == {"completed": True, "unsupported_by_moto": [], "code_sha256": update["code_sha256"]}
    assert summary["unrouted"] == []
    update_step = proc.stdout.split("zappa update demo  (")[1].split("[5/8]")[0]
    assert "Your updated Zappa deployment is live!" in update_step
    assert "zappa update ran to its end" in update_step
    assert "Oh no!" not in proc.stdout and "Traceback" not in proc.stdout
    assert "plus lambda:ListFunctionUrlConfigs, which `zappa update` calls and moto lacks" in proc.stdout
    assert summary["package"]["code_sha256"] == update["code_sha256"]  # the emulator ran the updated package
    # What was deployed (handler zip + the project archive in S3) has valid bytecode and no tooling.
    assert summary["package"]["facts"]["bytecode"]["state"] == "valid", summary["package"]["facts"]
    assert summary["package"]["tooling"] == []
    requests = summary["requests"]
    assert {r["path"] for r in requests} == {"/", "/products/", "/api/products/", "/admin/login/", "/healthz"}
    assert {r["init_type"] for r in requests} == {"on-demand", "provisioned-concurrency"}
    for request in requests:
        assert request["error"] is None and request["status"] == request["expected_status"] == 200, request
        assert request["ok"] is True
    # Only the on-demand environment's first request waited for INIT.
    waited = [r for r in requests if r["init_duration_ms"]]
    assert [(r["init_type"], r["path"]) for r in waited] == [("on-demand", "/")]

    bench = json.loads((out / "bench" / "bench.json").read_text())
    assert set(bench["modes"]) == {"upstream", "upstream-env", "eager", "eager+warmup"}
    for figures in bench["modes"].values():
        assert isinstance(figures["cold_ms"], (int, float)) and figures["cold_ms"] > 0
    assert (out / "bench" / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert bench["errors"] == []  # upstream's limits hit, if any, are in bench["limits"]: measured, not failed
    assert summary["bench"]["limits"] == bench["limits"] and summary["bench"]["phases"]["packaging"] > 0
    assert bench["burst"]["requests"] <= 1 + (os.cpu_count() or 1)  # sized to the machine
    assert "Lazy (upstream zappa) versus eager" in proc.stdout
    # The demo ends with `zappa coldstarts` over the emulator's REPORT lines shipped into moto's CloudWatch Logs:
    # version 1 ran upstream's handler (no init reports), version 2 zappa-eager's.
    coldstarts = json.loads(Path(summary["coldstarts"]["json"]).read_text())
    by_version = {v["version"]: v for v in coldstarts["versions"]}
    assert by_version["1"]["zappa_eager"] is False and by_version["2"]["zappa_eager"] is True
    assert by_version["1"]["cold_starts"] >= 2 and by_version["2"]["cold_starts"] >= 2
    assert "zappa coldstarts" in proc.stdout
