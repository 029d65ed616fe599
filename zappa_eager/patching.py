"""The one way zappa-eager changes an upstream object: for the length of a ``with`` block, then put back.

Upstream's ``ZappaCLI`` and ``Zappa`` objects are extended by shadowing a few attributes on the
*instance* while one of our steps runs (a wrapped method, an integer upstream reads). Restoring
exactly what was there, including "nothing of its own" (the class attribute shows through
again), keeps nested patches and repeated commands on the same object correct. Tooling module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    """Set ``obj.name = value`` for the duration, then restore exactly what ``obj`` itself held."""
    own = vars(obj)
    had_own = name in own
    previous = own.get(name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        if had_own:
            setattr(obj, name, previous)
        else:
            delattr(obj, name)
