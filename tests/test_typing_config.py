"""mypy checks the whole package with ``--strict``, and no section loosens it for a module.

Strict mode is global (``strict = true`` in ``[tool.mypy]``), so a new module, runtime or tooling,
is checked strictly from the day it is added; an override that turns a strict flag off would
quietly exempt a module, so none may exist.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest and mypy depend on tomli before 3.11
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

#: Flags ``--strict`` turns on; setting one of them to its lax value anywhere undoes strictness there.
STRICT_FLAGS = {
    "disallow_any_generics": True, "disallow_subclassing_any": True, "disallow_untyped_calls": True,
    "disallow_untyped_defs": True, "disallow_incomplete_defs": True, "check_untyped_defs": True,
    "disallow_untyped_decorators": True, "warn_unused_ignores": True, "warn_return_any": True,
    "implicit_reexport": False, "strict_equality": True, "extra_checks": True, "warn_redundant_casts": True,
    "no_implicit_optional": True, "warn_unused_configs": True,
}


def mypy_config() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["mypy"]
    return config


def test_strict_mode_is_on_for_the_whole_package() -> None:
    config = mypy_config()
    assert config["strict"] is True
    assert config["packages"] == ["zappa_eager"]


def test_no_setting_loosens_a_strict_flag() -> None:
    config = mypy_config()
    sections = [("[tool.mypy]", config)] + [(f"override {o.get('module')}", o) for o in config.get("overrides", [])]
    for where, section in sections:
        lax = {flag: section[flag] for flag, strict in STRICT_FLAGS.items()
               if flag in section and section[flag] != strict}
        assert not lax, f"{where} loosens --strict: {lax}"
