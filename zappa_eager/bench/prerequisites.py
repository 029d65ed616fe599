"""What ``zappa bench`` needs installed, checked before it packages anything (a minute or more).

The emulator runs the real awslambdaric (with its native client, simplejson and
snapshot_restore_py), S3 is ``python -m moto.server`` (moto's ``server`` extra: flask,
flask-cors, werkzeug), bench.png is drawn with matplotlib. Each is found without being
imported: the check is instant, and a missing one fails in one line, not after packaging.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from click import ClickException

#: (importable module, what provides it) - the pip names, in the order they are reported.
REQUIRED: tuple[tuple[str, str], ...] = (
    ("awslambdaric", "awslambdaric"),
    ("runtime_client", "awslambdaric"),
    ("simplejson", "simplejson"),
    ("snapshot_restore_py", "snapshot-restore-py"),
    ("moto", "moto[server]"),
    ("flask", "moto[server]"),
    ("flask_cors", "moto[server]"),
    ("werkzeug", "moto[server]"),
    ("matplotlib", "matplotlib"),
)


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken parent package, or a module without __spec__
        return False


def missing_prerequisites(required: Sequence[tuple[str, str]] = REQUIRED) -> list[str]:
    """What provides each module that cannot be found, once each, in ``required``'s order."""
    return list(dict.fromkeys(provider for module, provider in required if not _findable(module)))


def prerequisites_message(missing: Sequence[str]) -> str:
    return (f"zappa bench needs {', '.join(missing)} (not installed): pip install \"zappa-eager[bench]\" "
            "- in a tooling virtualenv, or with lean packaging on (the default) they are left out of your "
            "Lambda package")


def check_prerequisites(required: Sequence[tuple[str, str]] = REQUIRED) -> None:
    """Raise one line saying what to install, and where, if anything in ``required`` is missing."""
    missing = missing_prerequisites(required)
    if missing:
        raise ClickException(prerequisites_message(missing))
