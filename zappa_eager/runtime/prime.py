"""Once-per-process work that early requests would otherwise pay, done at the end of INIT.

Warm-up requests run the app's own first-time work. What is left is process-wide state that
no single request builds, which a later request runs into. Each step here was measured in
the emulator (real awslambdaric, fresh environments, examples/django_app and examples/flask_app):

* The first full garbage collection walks every object INIT created. Without priming it takes
  38-63 ms on the Django example (its 30th request, in every environment) and 18-20 ms on
  the Flask example (its 86th).
* ``mimetypes`` reads the system's mime.types on its first ``guess_type()``: 0.1 ms without
  the file, 1.8 ms with it. A file served from a route the warm-up did not request paid it:
  first/idle-warm 2.3x before, 1.16x after.

Cost in a pre-initialized INIT: +17 ms (Flask), +31 ms (Django), almost all of it the
collection. The awslambdaric invoke path (context, JSON unmarshal and marshal) and upstream's
request path did no first-time work once the warm-up had run (differences under 5 us).
Runtime module: standard library and ``zappa_eager.runtime.contract``.
"""

from __future__ import annotations

import gc
import sys

from zappa_eager.runtime.contract import PRE_INITIALIZED, BootEvent, current_init_type


def pre_initialized(event: BootEvent = "init") -> bool:
    """True for an INIT that no caller waits on (provisioned concurrency, SnapStart)."""
    return event == "init" and current_init_type() in PRE_INITIALIZED


def init_mimetypes() -> bool:
    """Load the mime.types tables now if the app imported ``mimetypes`` (werkzeug, Django do).

    One ``guess_type()`` call, as a file response makes: it reads the tables and compiles the
    regex ``urllib.parse`` splits URLs with. Returns True if this call loaded the tables.
    Importing the module ourselves would cost more than it saves for an app that never serves
    a file, so an app without it is left alone.
    """
    module = sys.modules.get("mimetypes")
    if module is None:
        return False
    loaded = not module.inited
    module.guess_type("zappa-eager-prime.css")
    return loaded


def freeze_heap(collect: bool) -> int:
    """Move every object alive now out of the collector's reach; returns how many were frozen.

    Without this, the first full collection (once enough young collections have run) walks
    the whole INIT heap inside a request. ``collect`` first frees INIT's garbage cycles
    (about 6,000 objects on the Django example, for one full collection of ~30 ms in INIT).
    Without it they stay in memory for the environment's life, which costs no time.
    """
    if collect:
        gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def prime_runtime(event: BootEvent = "init") -> list[str]:
    """Run every priming step that pays for this INIT; returns notes for the init report (none when all went well).

    A pre-initialized INIT does all of it. An on-demand INIT or a lazy rebuild (a caller is
    waiting) only freezes the heap, which is free.
    """
    notes: list[str] = []
    full = pre_initialized(event)
    try:
        if full:
            init_mimetypes()
        freeze_heap(collect=full)
    except Exception as exc:  # priming is an optimisation: it must never fail INIT
        notes.append(f"runtime priming failed: {type(exc).__name__}: {exc}")
    return notes
