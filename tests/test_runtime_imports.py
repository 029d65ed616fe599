"""The runtime path (what runs inside Lambda) never imports tooling."""

from __future__ import annotations

import ast
from pathlib import Path

from zappa_eager.cli import RUNTIME_MODULES

PACKAGE = Path(__file__).resolve().parent.parent / "zappa_eager"
ALLOWED_ROOTS = {"zappa", "zappa_eager", "boto3", "snapshot_restore_py", "django", "__future__"}
TOOLING = {"zappa_eager.cli", "zappa_eager.settings", "zappa_eager.bench", "zappa_eager.emulator",
           "zappa_eager.provisioning", "zappa.cli", "zappa.core", "click"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_runtime_modules_import_only_stdlib_upstream_handler_and_runtime() -> None:
    import sys

    for module in RUNTIME_MODULES:
        for name in imported_modules(PACKAGE / module):
            root = name.split(".")[0]
            assert name not in TOOLING, f"{module} imports tooling module {name}"
            assert root in ALLOWED_ROOTS or root in sys.stdlib_module_names, f"{module} imports {name}"
            if root == "zappa":
                assert name in {"zappa.handler"}, f"{module} imports {name}"
