"""Plays one Lambda execution environment: import ``handler`` (INIT), then run invokes.

Run by tests in a fresh interpreter with the task root as cwd and PYTHONPATH. Prints one
``PROBE-RESULT {json}`` line describing what happened.
"""

from __future__ import annotations

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
            else:
                raise ValueError(action["kind"])
            out["responses"].append({"ok": True, "response": response})
        except Exception as exc:
            traceback.print_exc()
            out["responses"].append({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        out.setdefault("new_modules", []).append(sorted(set(sys.modules) - before))
    views = sys.modules.get("djsite.views") or sys.modules.get("plainapp")
    out["served"] = list(getattr(views, "SERVED", []))
    print("PROBE-RESULT " + json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    main()
