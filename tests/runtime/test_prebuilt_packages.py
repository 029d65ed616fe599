"""Packages built before the runtime moved into ``zappa_eager/runtime/`` keep working with this CLI.

A package carries its own runtime: one built by an earlier zappa-eager has ``handler.py`` importing
``zappa_eager.boot`` and the runtime modules flat in ``zappa_eager/``. After an upgrade, the
tooling still meets such packages: a ``zappa rollback`` or an alias pointing at an old version
runs them, ``zappa bench --zip`` and the emulator run them, ``zappa revert-to-upstream`` must
recognise their handler, and ``zappa coldstarts`` reads the init reports they log. The old layout
is made here from this runtime by the move undone (same code at the old paths and imports).
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

from tests.conftest import make_task_root
from tests.emulator.conftest import add_packages
from tests.emulator.test_emu_warmup_status import PACKAGES
from zappa_eager.coldstarts.records import EagerInit, parse_message
from zappa_eager.emulator import Emulator, events
from zappa_eager.provisioning.revert_code import EAGER, handler_kind

STAGE = {"django_settings": "djsite.settings", "project_name": "djsite", "eager_init_warmup": ["/healthz"]}


def flat_layout(root: Path) -> Path:
    """The runtime as packages before the move shipped it: ``zappa_eager/<module>.py``, flat imports."""
    runtime = root / "zappa_eager" / "runtime"
    for source in sorted(runtime.glob("*.py")):
        if source.name != "__init__.py":
            shutil.move(str(source), root / "zappa_eager" / source.name)
    shutil.rmtree(runtime)
    for path in [root / "handler.py", *(root / "zappa_eager").glob("*.py")]:
        path.write_text(re.sub(r"\bzappa_eager\.runtime\b", "zappa_eager", path.read_text()))
    return root


def test_a_package_with_the_old_layout_serves_and_reports_under_this_tooling(tmp_path: Path) -> None:
    root = flat_layout(make_task_root(tmp_path, STAGE))
    add_packages(root, PACKAGES)
    assert (root / "zappa_eager" / "boot.py").is_file() and not (root / "zappa_eager" / "runtime").exists()
    assert "from zappa_eager.boot import" in (root / "handler.py").read_text()

    with Emulator(root) as emulator:
        for init_type in ("on-demand", "provisioned-concurrency"):
            environment = emulator.start_environment(init_type)
            result = environment.invoke(events.api_gateway_v1("GET", "/healthz"))
            assert result.error is None and result.status_code == 200, (init_type, result.error)
            report = environment.init_report()
            assert report is not None and report["ok"] is True and report["init_type"] == init_type
            # the warm-up ran in INIT as its settings say: this CLI renders one pass on demand ("once")
            assert [w["round"] for w in report["warmup"]] == ([1, 2] if init_type == "provisioned-concurrency"
                                                              else [1]), report
            # zappa coldstarts reads the same line from CloudWatch Logs
            records = [parse_message(line, "2026/12/01/[3]abc") for line in environment.log_lines()]
            inits = [r for r in records if isinstance(r, EagerInit)]
            assert [(i.version, i.init_type, i.ok) for i in inits] == [("3", init_type, True)]
            environment.stop()

    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.write(root / "handler.py", "handler.py")
    assert handler_kind(package.getvalue()) == EAGER  # revert-to-upstream knows it is ours
