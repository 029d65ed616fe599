"""The runtime (what runs inside Lambda) is the ``zappa_eager/runtime/`` folder, and it never imports tooling.

``packaging/runtime_files.py`` ships that folder (and the package's ``__init__``) in every
package; everything beside it stays on the developer's machine. The folder is the only list:
these tests read it, they do not keep a copy of it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from zappa_eager.packaging.runtime_files import RUNTIME_DIR, runtime_modules

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "zappa_eager"
#: What a runtime module may import besides the standard library and ``zappa_eager.runtime``.
#: botocore is boto3's own core (archive.py sets S3 timeouts and retries with botocore.config.Config).
ALLOWED_ROOTS = {"boto3", "botocore", "snapshot_restore_py", "django", "__future__"}
#: The one upstream module the runtime builds on: zappa's handler path.
ALLOWED_UPSTREAM = {"zappa.handler"}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any level (inside functions and ``TYPE_CHECKING`` too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path}: use absolute imports (zappa_eager.runtime.x), not relative ones")
    return names


def test_what_ships_is_the_runtime_folder_and_the_package_init() -> None:
    on_disk = {p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / RUNTIME_DIR).rglob("*.py")}
    assert set(runtime_modules()) == on_disk | {"__init__.py"}
    assert "runtime/handler.py" in on_disk and "runtime/__init__.py" in on_disk


def test_runtime_modules_import_only_stdlib_zappas_handler_boto3_and_the_runtime() -> None:
    for module in runtime_modules():
        for name in imported_modules(PACKAGE / module):
            root = name.split(".")[0]
            if root == "zappa_eager":
                assert name == "zappa_eager" or name.startswith("zappa_eager.runtime"), (
                    f"{module} imports {name}: the runtime may import only zappa_eager.runtime")
            elif root == "zappa":
                assert name in ALLOWED_UPSTREAM or name.rsplit(".", 1)[0] in ALLOWED_UPSTREAM, (
                    f"{module} imports {name}: of upstream, the runtime builds on zappa.handler only")
            else:
                assert root in ALLOWED_ROOTS or root in sys.stdlib_module_names, f"{module} imports {name}"


def test_the_check_catches_a_tooling_import(tmp_path: Path) -> None:
    """The checker itself: a runtime module importing the CLI, or another upstream module, is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from zappa_eager.cli import EagerZappaCLI\n    import zappa.cli\n")
    names = imported_modules(bad)
    assert "zappa_eager.cli" in names and "zappa.cli" in names


def test_the_package_init_imports_nothing() -> None:
    """``zappa_eager/__init__.py`` runs in every cold start before the runtime: it holds the version only."""
    assert {name.split(".")[0] for name in imported_modules(PACKAGE / "__init__.py")} <= {"__future__"}
