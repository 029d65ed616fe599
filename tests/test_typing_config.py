"""mypy checks every runtime module strictly: the strict override in pyproject.toml names exactly the runtime set.

A module that joins the runtime path (``packaging/runtime_files.py``, checked against the declared list in
tests/test_runtime_imports.py) runs inside Lambda in every cold start, so it is checked with ``--strict``'s
flags from the day it joins. The flags are spelled out because ``strict = true`` in an override section
turns strict mode on for the whole package.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from zappa_eager.packaging.runtime_files import runtime_modules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest and mypy depend on tomli before 3.11
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

#: What ``mypy --strict`` turns on, as per-module settings (``warn_redundant_casts`` is global-only).
STRICT_FLAGS = {
    "disallow_any_generics": True,
    "disallow_subclassing_any": True,
    "disallow_untyped_calls": True,
    "disallow_untyped_defs": True,
    "disallow_incomplete_defs": True,
    "check_untyped_defs": True,
    "disallow_untyped_decorators": True,
    "warn_unused_ignores": True,
    "warn_return_any": True,
    "implicit_reexport": False,
    "strict_equality": True,
    "extra_checks": True,
}


def mypy_config() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["mypy"]
    return config


def strict_override() -> dict[str, Any]:
    overrides = [o for o in mypy_config().get("overrides", []) if o.get("disallow_untyped_defs")]
    assert len(overrides) == 1, "expected one strict override section in [tool.mypy]"
    return overrides[0]


def module_name(path: str) -> str:
    parts = ["zappa_eager", *path.removesuffix(".py").split("/")]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_strict_override_names_exactly_the_runtime_modules() -> None:
    expected = sorted(module_name(path) for path in runtime_modules())
    assert sorted(strict_override()["module"]) == expected


def test_the_strict_override_sets_every_strict_flag() -> None:
    override = strict_override()
    assert {flag: override.get(flag) for flag in STRICT_FLAGS} == STRICT_FLAGS
    assert "strict" not in override, "strict = true in an override makes the whole package strict"
    assert mypy_config().get("warn_redundant_casts") is True
