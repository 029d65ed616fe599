"""The third-party packages of a task root the emulator runs: the venv's copies an app imports, hard-linked.

The emulator hides the tooling virtualenv from an environment, as Lambda would, so a task root
must carry the packages ``zappa package`` would ship. Which ones is found by importing the app
in a child interpreter; they are hard-linked (copied across file systems), which is fast, is
visible through the environment's bind mount and private /tmp, and keeps the sources' mtimes,
so the venv's timestamp-checked bytecode stays valid when it is linked too. Used by the
reliability site and by the tests that run an app in the emulator. Tooling module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from pathlib import Path

#: Top-level names in site-packages that an app never imports in Lambda: setuptools' ``.pth`` shim.
NEVER_SHIPPED = frozenset({"_distutils_hack"})


def site_packages() -> Path:
    """The tooling venv's site-packages: where the app's dependencies are installed."""
    return Path(sysconfig.get_paths()["purelib"]).resolve()


def link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def imported_packages(imports: str, *, pythonpath: Path, env: Mapping[str, str] | None = None,
                      timeout_s: float = 120.0) -> tuple[Path, ...]:
    """The site-packages entries (packages, modules, their ``*.dist-info``) that running ``imports`` loads.

    ``imports`` is Python source run in a child interpreter with ``pythonpath`` on its path and
    ``env`` added to this process's environment (e.g. ``DJANGO_SETTINGS_MODULE``). psycopg's
    binary wheel is added when present: psycopg loads it only once it connects.
    """
    listing = subprocess.run(
        [sys.executable, "-c", f"import sys; {imports}; print(*sorted({{m.split('.')[0] for m in sys.modules}}))"],
        env={**os.environ, "PYTHONPATH": str(pythonpath), **(env or {})},
        capture_output=True, text=True, check=True, timeout=timeout_s,
    ).stdout.split()
    site = site_packages()
    names = [n for n in listing if (site / n).is_dir() and n not in NEVER_SHIPPED]
    names += [f"{n}.py" for n in listing if (site / f"{n}.py").exists() and not n.startswith("__editable__")]
    names += [p.name for p in site.glob("psycopg_binary*")]
    names += [p.name for n in listing for p in site.glob(f"{n}-*.dist-info")]  # importlib.metadata versions
    return tuple(site / name for name in sorted(set(names)) if (site / name).exists())


def link_packages(root: Path, packages: Iterable[Path], *, bytecode: bool = False) -> None:
    """Link ``packages`` into ``root`` (their ``tests`` folders left out).

    With ``bytecode`` the venv's ``__pycache__`` folders come along: a package built by
    zappa-eager ships valid bytecode, and without it the read-only task root makes every INIT
    compile zappa, boto3 and Django again (~1 s here), which a deployed function does not pay.
    """
    ignored = ("tests",) if bytecode else ("tests", "__pycache__")
    for source in packages:
        if source.is_dir():
            shutil.copytree(source, root / source.name, copy_function=link_or_copy,
                            ignore=shutil.ignore_patterns(*ignored))
        else:
            link_or_copy(str(source), str(root / source.name))
