"""Load the shop the way Zappa's Django handler does, send requests through WSGI, print JSON.

Run in a fresh process by the integration tests (``python tests/wsgi_probe.py "GET /healthz" ...``)
so that settings come from the environment exactly as on Lambda. A request is ``METHOD PATH``
optionally followed by a JSON body. The last stdout line is the JSON report.
"""

from __future__ import annotations

import json
import sys
import time
from io import BytesIO
from typing import Any


def call(app: Any, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    route, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": route, "QUERY_STRING": query, "SCRIPT_NAME": "",
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "localhost",
        "HTTP_ACCEPT": "application/json", "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
        "wsgi.input": BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multiprocess": False,
        "wsgi.multithread": False, "wsgi.run_once": False,
    }
    if body:
        environ.update(CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(body)))
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured.update(status=int(status.split()[0]), headers=dict(headers))

    chunks = app(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return captured["status"], captured["headers"], content


def main(requests: list[str]) -> dict[str, Any]:
    from zappa.ext.django_zappa import get_django_wsgi

    started = time.perf_counter()
    app = get_django_wsgi("shop.settings")  # what zappa.handler.LambdaHandler does with django_settings
    load_ms = (time.perf_counter() - started) * 1000.0

    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from shop import bootstrap

    result = bootstrap.last_result()
    report: dict[str, Any] = {
        "load_ms": load_ms,
        "bootstrap": None if result is None else {"migrations_applied": result.migrations_applied,
                                                  "seeded": result.seeded},
        "databases": {alias: connections[alias].settings_dict["NAME"] for alias in connections},
        "requests": [],
    }
    for spec in requests:
        method, _, rest = spec.partition(" ")
        path, _, body = rest.partition(" ")
        contexts = {alias: CaptureQueriesContext(connections[alias]) for alias in connections}
        for context in contexts.values():
            context.__enter__()
        try:
            status, headers, content = call(app, method, path, body.encode())
        finally:
            for context in contexts.values():
                context.__exit__(None, None, None)
        try:
            payload: Any = json.loads(content)
        except ValueError:
            payload = content.decode(errors="replace")[:500]
        report["requests"].append({
            "request": f"{method} {path}", "status": status, "x_cache": headers.get("X-Cache"), "body": payload,
            "queries": {alias: [q["sql"] for q in ctx.captured_queries] for alias, ctx in contexts.items()},
        })
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), default=str))
