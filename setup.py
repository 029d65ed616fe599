"""Build hook: the wheel carries ``_zappa_eager_guard.pth`` at the root of site-packages.

Everything else is in pyproject.toml. The ``.pth`` line and why it exists: zappa_eager/guard.py
and docs/install.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _guard_constant(name: str) -> str:
    """A string constant of zappa_eager/guard.py, read without importing the package (build isolation)."""
    tree = ast.parse((HERE / "zappa_eager" / "guard.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == name for t in targets) and node.value is not None:
                value = ast.literal_eval(node.value)
                assert isinstance(value, str)
                return value
    raise LookupError(f"zappa_eager/guard.py defines no {name}")


class BuildPyWithGuard(build_py):
    """``build_py`` plus the guard's ``.pth`` beside the packages (the wheel's purelib root)."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / _guard_constant("PTH_NAME")
        target.write_text(_guard_constant("PTH_LINE"), encoding="utf-8")

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib) / _guard_constant("PTH_NAME"))]


setup(cmdclass={"build_py": BuildPyWithGuard})
