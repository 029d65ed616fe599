"""The runtime path (what runs inside Lambda) is an allowlist: declared modules only, and they never import tooling.

``packaging/runtime_files.py`` computes the ``zappa_eager`` files reachable from ``handler.py``
(what every package ships and every cold start may import). Each must be declared below, and the
declaration is the list docs/architecture.md gives: a new module on the runtime path (or a tooling
module imported by accident) fails here until someone decides it belongs there and documents it.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from zappa_eager.packaging.runtime_files import runtime_modules

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "zappa_eager"
ARCHITECTURE = REPO / "docs" / "architecture.md"

#: The runtime modules, as the "Runtime" paragraph of docs/architecture.md lists them.
DECLARED_RUNTIME = frozenset(
    {
        "__init__.py",
        "handler.py",
        "boot.py",
        "contract.py",
        "archive.py",
        "unpack.py",
        "gzstream.py",
        "tarformat.py",
        "report.py",
        "warmup.py",
        "prime.py",
        "snapstart.py",
    }
)
#: botocore is boto3's own core (archive.py sets S3 timeouts and retries with botocore.config.Config).
ALLOWED_ROOTS = {"zappa", "zappa_eager", "boto3", "botocore", "snapshot_restore_py", "django", "__future__"}
TOOLING = {"zappa_eager.cli", "zappa_eager.settings", "zappa_eager.bench", "zappa_eager.emulator",
           "zappa_eager.provisioning", "zappa_eager.packaging", "zappa_eager.patching",
           "zappa.cli", "zappa.core", "click"}
#: Tooling packages and modules: none of them may ever be declared a runtime module.
TOOLING_FILES = {"cli.py", "settings.py", "patching.py", "bench", "emulator", "packaging", "provisioning"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def runtime_paragraph() -> str:
    """The "Runtime" bullet of docs/architecture.md (up to the "Tooling" one)."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    start = text.index("* **Runtime**")
    return text[start:text.index("* **Tooling**", start)]


def test_every_module_reachable_from_the_handler_is_a_declared_runtime_module() -> None:
    reachable = set(runtime_modules())
    undeclared = sorted(reachable - DECLARED_RUNTIME)
    assert not undeclared, (
        f"handler.py now reaches {undeclared}: a runtime module ships in every package and loads in every "
        "cold start. If that is intended, declare it in DECLARED_RUNTIME and in docs/architecture.md; "
        "if it is tooling, remove the import from the runtime path."
    )
    stale = sorted(DECLARED_RUNTIME - reachable)
    assert not stale, f"declared runtime modules {stale} are no longer imported by handler.py: drop them"


def test_the_declared_runtime_modules_are_the_ones_the_architecture_page_lists() -> None:
    listed = set(re.findall(r"`([A-Za-z_][\w]*\.py)`", runtime_paragraph()))
    assert listed == DECLARED_RUNTIME - {"__init__.py"}


def test_no_tooling_module_is_declared_runtime() -> None:
    for name in DECLARED_RUNTIME:
        assert "/" not in name and (PACKAGE / name).is_file(), name
        assert name not in TOOLING_FILES and name.removesuffix(".py") not in TOOLING_FILES, name


def test_runtime_modules_import_only_stdlib_upstream_handler_and_runtime() -> None:
    for module in runtime_modules():
        for name in imported_modules(PACKAGE / module):
            root = name.split(".")[0]
            assert name not in TOOLING, f"{module} imports tooling module {name}"
            assert root in ALLOWED_ROOTS or root in sys.stdlib_module_names, f"{module} imports {name}"
            if root == "zappa":
                assert name in {"zappa.handler"}, f"{module} imports {name}"
