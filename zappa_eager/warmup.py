"""Warm-up requests sent through upstream's full request path during INIT.

Django builds its URL resolver, the middleware chain's lazy parts, template loaders and
the database connection on the first request. A warm-up request pays that in INIT, so the
first user's request is as fast as a warm one. The event looks like API Gateway's: the same
Host kind (zappa derives SCRIPT_NAME from it) and the X-Forwarded-* headers API Gateway adds,
so the app takes the same paths as for real traffic. Runtime module: standard library only.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from zappa_eager.report import WarmupResult

WARMUP_HEADER = "X-Zappa-Eager-Warmup"
#: Stands in for the REST API's id in the warm-up Host (unknown inside Lambda).
WARMUP_API_ID = "zappa-eager-warmup"


def warmup_host(domain: str | None, region: str | None = None) -> str:
    """The Host real requests will carry: the stage's custom domain, else API Gateway's execute-api host.

    zappa serves ``*.amazonaws.com`` hosts under SCRIPT_NAME ``/<stage>`` and others under ``""``.
    Warmed under another prefix, the first request rebuilds what depends on it (Django compiles
    a regex per URL it reverses: 0.3 ms on the example's ``/``).
    """
    if domain:
        return domain
    region = region or os.environ.get("AWS_REGION") or "us-east-1"
    return f"{WARMUP_API_ID}.execute-api.{region}.amazonaws.com"


class WarmupContext:
    """Stands in for the Lambda context object during INIT (there is no invocation yet)."""

    def __init__(self, index: int, budget_ms: float = 10_000.0) -> None:
        self._deadline = time.monotonic() + budget_ms / 1000.0
        self.aws_request_id = f"zappa-eager-warmup-{index}"
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "zappa-eager")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:000000000000:function:{self.function_name}"
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def warmup_event(spec: Mapping[str, Any], default_host: str) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event for one warm-up request spec."""
    method = str(spec.get("method", "GET")).upper()
    split = urlsplit(str(spec.get("path", "/")))
    headers: dict[str, str] = {"Host": default_host, "User-Agent": "zappa-eager-warmup", WARMUP_HEADER: "1",
                               # API Gateway adds these to every request (apps trust X-Forwarded-Proto for https).
                               "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https"}
    headers.update({str(k): str(v) for k, v in dict(spec.get("headers") or {}).items()})
    query = {k: v for k, v in parse_qs(split.query, keep_blank_values=True).items()}
    body = spec.get("body")
    return {
        "httpMethod": method,
        "path": split.path or "/",
        "resource": "/{proxy+}",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": split.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": split.path or "/",
            "requestId": "zappa-eager-warmup",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "zappa-eager-warmup"},
        },
        "body": None if body is None else str(body),
        "isBase64Encoded": False,
    }


def run_warmup(handler: Any, specs: list[Mapping[str, Any]], default_host: str,
               rounds: int = 1) -> list[WarmupResult]:
    """Send each request through ``LambdaHandler.handler``, ``rounds`` times over; failures are recorded, never raised.

    One pass leaves the paths that only a repeat takes cold: a cached response is written on
    the first pass and read back on the second, as it will be for the first user.
    """
    results: list[WarmupResult] = []
    for round_ in range(1, max(rounds, 1) + 1):
        results.extend(_one_round(handler, specs, default_host, round_))
    return results


def _one_round(handler: Any, specs: list[Mapping[str, Any]], default_host: str, round_: int) -> list[WarmupResult]:
    results: list[WarmupResult] = []
    for index, spec in enumerate(specs):
        event = warmup_event(spec, default_host)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            response = handler.handler(event, WarmupContext(index))
            if isinstance(response, dict):
                raw = response.get("statusCode")
                status = int(raw) if raw is not None else None
            if status is None or status >= 500:
                error = f"status {status}"
            elif status == 400:
                error = "status 400 (is the warm-up Host allowed? set headers.Host in eager_init_warmup)"
        except Exception as exc:  # a warm-up must never fail INIT
            error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        ms = (time.perf_counter() - started) * 1000.0
        results.append(WarmupResult(event["httpMethod"], event["path"], status, ms, error, round_))
        if error:
            print(f"[zappa-eager] warm-up {event['httpMethod']} {event['path']} failed: {error}", flush=True)
    return results
