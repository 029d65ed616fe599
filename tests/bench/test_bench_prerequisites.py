"""``zappa bench`` checks what it needs before packaging, and says in one line how to get it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click import ClickException

from tests.conftest import FIXTURES, REPO, base_stage
from zappa_eager.bench.prerequisites import REQUIRED, check_prerequisites, missing_prerequisites

#: Distributions a tooling virtualenv without the [bench] extra lacks (top-level import names).
BENCH_ONLY = ("awslambdaric", "runtime_client", "matplotlib", "mpl_toolkits", "pylab")


def test_everything_is_installed_here() -> None:
    assert missing_prerequisites() == []
    check_prerequisites()


def test_missing_modules_are_named_once_by_what_provides_them() -> None:
    required = (("json", "stdlib"), ("zappa_bench_absent_one", "absent-one"), ("zappa_bench_absent_two", "absent-one"),
                ("zappa_bench_absent.sub", "absent-two"))
    assert missing_prerequisites(required) == ["absent-one", "absent-two"]
    with pytest.raises(ClickException) as raised:
        check_prerequisites(required)
    message = raised.value.message
    assert "\n" not in message
    assert message.startswith("zappa bench needs absent-one, absent-two (not installed): "
                              'pip install "zappa-eager[bench]"')
    assert "in a tooling virtualenv" in message and "left out of your Lambda package" in message


def test_the_emulator_s3_and_chart_modules_are_all_checked() -> None:
    modules = {module for module, _provider in REQUIRED}
    assert {"awslambdaric", "runtime_client", "snapshot_restore_py", "moto", "flask", "flask_cors", "werkzeug",
            "matplotlib"} <= modules


def test_zappa_bench_without_its_tooling_fails_before_packaging(tmp_path: Path) -> None:
    """A real interpreter whose sys.path lacks awslambdaric and matplotlib: one line, exit 1, nothing built."""
    site = tmp_path / "site-packages"
    site.mkdir()
    purelib = Path(sysconfig.get_paths()["purelib"])
    for entry in purelib.iterdir():
        top = entry.name.split(".")[0].split("-")[0]
        if top in BENCH_ONLY or entry.name.startswith(("zappa_eager", "__editable__")) or entry.suffix == ".pth":
            continue
        (site / entry.name).symlink_to(entry)
    project = tmp_path / "djsite"
    project.mkdir()
    for item in (FIXTURES / "djsite").iterdir():
        (project / item.name).symlink_to(item)
    (project / "zappa_settings.json").write_text(json.dumps({"dev": base_stage()}))
    script = ("import sys; from zappa_eager.cli import EagerZappaCLI; from zappa_eager.bench import run_bench_command; "
              "sys.exit(run_bench_command(EagerZappaCLI(), ['dev', '--quick']))")
    stdlib = [sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib")]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), str(site)]), VIRTUAL_ENV=sys.prefix)
    result = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path[:0] = {stdlib!r}; {script}"],
                            cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert lines == ['Error: zappa bench needs awslambdaric, matplotlib (not installed): pip install '
                     '"zappa-eager[bench]" - in a tooling virtualenv, or with lean packaging on (the default) they '
                     'are left out of your Lambda package'], result.stderr[-2000:]
    assert not (project / "bench-out").exists()
    assert not [p for p in project.iterdir() if p.suffix in (".zip", ".gz") or p.name == "handler_venv"]
