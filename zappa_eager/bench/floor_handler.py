"""The ``floor`` mode's handler.py: the app itself behind the thinnest adapter, and nothing else.

No zappa, no zappa-eager: at import it sets the stage's environment variables, builds the app
(Django's WSGI application, or the stage's ``app_function``) with the collector held off, and
freezes the heap; each event becomes one WSGI call (or one ASGI HTTP cycle). The same package as
``eager``, so the difference between the two is what zappa-eager's runtime costs on top of the app:
what no adapter can take away is the app's own INIT and first request. Only what the benchmark
sends is handled (GET/POST with a body, API Gateway v1 and function URL events); it is a
measuring stick, never deployed. Copied into the mode's task root; standard library only.
"""

from __future__ import annotations

import base64
import gc
import importlib
import inspect
import io
import os
import sys
from collections.abc import Callable
from typing import Any

gc.disable()
zappa_settings = importlib.import_module("zappa_settings")  # the stage's, as zappa renders it

if getattr(zappa_settings, "ARCHIVE_PATH", None):
    raise RuntimeError("the floor mode runs the package as it is: measure it with slim_handler off (--slim off)")
for _name, _value in (getattr(zappa_settings, "ENVIRONMENT_VARIABLES", None) or {}).items():
    os.environ[str(_name)] = str(_value)


def load_app() -> Any:
    django_settings = getattr(zappa_settings, "DJANGO_SETTINGS", None)
    if django_settings:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", django_settings)
        from django.core.wsgi import get_wsgi_application

        return get_wsgi_application()
    return getattr(importlib.import_module(zappa_settings.APP_MODULE), zappa_settings.APP_FUNCTION)


app = load_app()
#: An ASGI app is a coroutine function of (scope, receive, send); a WSGI app is called with (environ, start_response).
IS_ASGI = inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(type(app).__call__)
if IS_ASGI:
    importlib.import_module("asyncio")  # in INIT, as zappa does for an ASGI app (a WSGI one never needs it)
gc.freeze()
gc.enable()


def request_parts(event: dict[str, Any]) -> tuple[str, str, str, dict[str, str], bytes]:
    """(method, path, query, headers, body) of an API Gateway v1 or function URL event."""
    http = (event.get("requestContext") or {}).get("http") or {}
    method = event.get("httpMethod") or http.get("method") or "GET"
    path = event.get("path") or event.get("rawPath") or "/"
    query = event.get("rawQueryString") or "&".join(
        f"{name}={value}" for name, value in (event.get("queryStringParameters") or {}).items())
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else str(raw).encode("utf-8")
    return method, path, query, headers, body


def response(status: int, headers: list[tuple[str, str]], body: bytes) -> dict[str, Any]:
    try:
        return {"statusCode": status, "headers": dict(headers), "body": body.decode("utf-8"), "isBase64Encoded": False}
    except UnicodeDecodeError:
        return {"statusCode": status, "headers": dict(headers), "body": base64.b64encode(body).decode("ascii"),
                "isBase64Encoded": True}


def call_wsgi(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    host = headers.get("host", "localhost")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": query,
        "SERVER_NAME": host, "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": headers.get("content-type", ""),
    }
    environ.update({"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()})
    started: list[Any] = []

    def start_response(status: str, response_headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[..., Any]:
        started[:] = [status, response_headers]
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return response(int(started[0][:3]), started[1], data)


def call_asgi(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "https",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
             "server": (headers.get("host", "localhost"), 443), "client": ("127.0.0.1", 0)}
    sent: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
            sent["headers"] = [(k.decode(), v.decode()) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")

    import asyncio

    asyncio.run(app(scope, receive, send))
    return response(sent["status"], sent["headers"], sent["body"])


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return (call_asgi if IS_ASGI else call_wsgi)(*request_parts(event))
