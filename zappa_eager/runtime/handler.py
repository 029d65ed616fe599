"""Lambda entry point: copied to the package root as ``handler.py`` by ``zappa package``.

Importing this module (Lambda's INIT phase) builds upstream's ``LambdaHandler``: settings,
remote env, the slim_handler archive, the app, then warm-up requests. Each invocation
then goes straight to upstream's request path. Runtime module: never import tooling here.
"""

from __future__ import annotations

import time

_IMPORT_STARTED = time.perf_counter()

from zappa_eager.runtime.heap import held_collector  # noqa: E402

with held_collector():  # INIT only grows the heap: no collection walks it until the first event
    from typing import Any

    from zappa_eager.runtime.contract import LambdaContext, defer_imports_setting
    from zappa_eager.runtime.deferred import deferred_imports

    with deferred_imports(enabled=defer_imports_setting()):
        from zappa.handler import LambdaHandler

    from zappa_eager.runtime.boot import EagerRuntime

    runtime = EagerRuntime()
    runtime.boot(started=_IMPORT_STARTED)


def lambda_handler(event: Any, context: LambdaContext) -> Any:
    """Lambda's handler (``handler.lambda_handler``); upstream's request path, unchanged."""
    if runtime.needs_rebuild:
        runtime.rebuild()
    return LambdaHandler.lambda_handler(event, context)


def keep_warm_callback(event: Any, context: LambdaContext) -> None:
    """Target of the keep-warm schedule: the app is already built, so there is nothing to do."""
    if runtime.needs_rebuild:
        runtime.rebuild()
    elif not runtime.enabled:
        lambda_handler(event={}, context=context)
