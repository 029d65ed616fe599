"""Plays one Lambda execution environment: import ``handler`` (INIT), then run invokes.

Run by tests in a fresh interpreter with the task root as cwd and PYTHONPATH. Prints one
``PROBE-RESULT {json}`` line describing what happened.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from typing import Any


def api_event(path: str, method: str = "GET") -> dict[str, Any]:
    return {
        "httpMethod": method,
        "path": path,
        "headers": {"Host": "localhost"},
        "multiValueHeaders": {"Host": ["localhost"]},
        "queryStringParameters": None,
        "requestContext": {"httpMethod": method, "path": path},
        "body": None,
        "isBase64Encoded": False,
    }


KEEP_WARM = {
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/djsite-dev-zappa-keep-warm-handler.keep_warm_callback"],
}


def sdk_state() -> dict[str, Any]:
    """The SDK modules really loaded, and what ``zappa.utilities`` names ``botocore.exceptions.ClientError``."""
    import zappa.utilities

    loaded = [name for name in ("boto3", "botocore", "s3transfer") if name in sys.modules]
    client_error = zappa.utilities.botocore.exceptions.ClientError  # loads the real SDK if it was deferred
    import botocore.exceptions

    return {"loaded_before": loaded, "client_error_is_real": client_error is botocore.exceptions.ClientError,
            "utilities_boto3": type(zappa.utilities.boto3).__name__}


def werkzeug_state() -> dict[str, Any]:
    """What zappa's WSGI names are (werkzeug's classes, or zappa-eager's stand-ins), and which of their
    werkzeug modules are loaded; ``type()`` does not resolve a stand-in."""
    import zappa.handler
    import zappa.middleware

    return {"response": type(zappa.handler.Response).__name__,
            "closing_iterator": type(zappa.middleware.ClosingIterator).__name__,
            "loaded": sorted(m for m in ("werkzeug.wrappers", "werkzeug.wsgi") if m in sys.modules)}


def main() -> None:
    actions = json.loads(sys.argv[1])
    out: dict[str, Any] = {"responses": []}
    try:
        import handler  # noqa: F401  - INIT
    except Exception as exc:
        out["import_error"] = f"{type(exc).__name__}: {exc}"
        print("PROBE-RESULT " + json.dumps(out), flush=True)
        sys.exit(3)
    import zappa.handler as upstream

    out["built_at_import"] = upstream.global_handler is not None
    out["urlconf_loaded"] = "djsite.urls" in sys.modules
    out["app_module_loaded"] = "plainapp" in sys.modules
    out["sdk_after_init"] = [name for name in ("boto3", "botocore", "s3transfer") if name in sys.modules]
    out["tooling_modules"] = sorted(
        m for m in sys.modules if m.startswith(("zappa_eager.cli", "zappa_eager.emulator", "zappa_eager.bench",
                                                 "zappa.cli", "click", "zappa_eager.settings", "moto"))
    )
    for action in actions:
        before = set(sys.modules)
        try:
            if action["kind"] == "http":
                response = handler.lambda_handler(api_event(action["path"]), None)
            elif action["kind"] == "keep_warm":
                response = handler.lambda_handler(dict(KEEP_WARM), None)
            elif action["kind"] == "event":  # any other event Zappa routes: commands, event sources, tasks
                response = handler.lambda_handler(action["event"], None)
            elif action["kind"] == "sdk":  # which AWS SDK modules are loaded now, and upstream's names resolve
                response = sdk_state()
            elif action["kind"] == "werkzeug":  # zappa's WSGI names, and whether werkzeug's wrappers are loaded
                response = werkzeug_state()
            elif action["kind"] == "gc":  # the collector as the first event finds it
                import gc

                response = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
            elif action["kind"] == "call":  # a function of the app, e.g. one that uses boto3 itself
                module, _, name = action["function"].rpartition(".")
                response = getattr(importlib.import_module(module), name)()
            else:
                raise ValueError(action["kind"])
            out["responses"].append({"ok": True, "response": response})
        except Exception as exc:
            traceback.print_exc()
            out["responses"].append({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        out.setdefault("new_modules", []).append(sorted(set(sys.modules) - before))
    views = sys.modules.get("djsite.views") or sys.modules.get("plainapp")
    out["served"] = list(getattr(views, "SERVED", []))
    out["asyncio_loaded"] = isinstance(sys.modules.get("asyncio"), type(sys)) and \
        type(sys.modules["asyncio"]).__name__ == "module"
    jobs = sys.modules.get("djsite.jobs")
    out["jobs_ran"] = list(getattr(jobs, "RAN", []))
    print("PROBE-RESULT " + json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    main()
