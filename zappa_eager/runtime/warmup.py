"""Warm-up requests sent through upstream's full request path during INIT.

Django builds its URL resolver, the middleware chain's lazy parts, template loaders and
the database connection on the first request. A warm-up request pays that in INIT, so the
first user's request is as fast as a warm one. The event looks like API Gateway's: the same
Host kind (zappa derives SCRIPT_NAME from it) and the X-Forwarded-* headers API Gateway adds,
so the app takes the same paths as for real traffic. Each answer is judged: a 2xx warmed the
view, a 3xx only warmed the redirect, anything else failed (with a hint), unless the request's
``expect`` names the status. Runtime module: standard library and our runtime modules.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
import traceback
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from zappa_eager.runtime.contract import FAILED, REDIRECTED, WARMED, LambdaContext, WarmupOutcome
from zappa_eager.runtime.report import WarmupResult

#: Marks a warm-up request for logs and metrics. Any client can send it: never trust it.
WARMUP_HEADER = "X-Zappa-Eager-Warmup"
#: Carries a secret made for each warm-up run and forgotten after it: see :func:`is_warmup_request`.
TOKEN_HEADER = "X-Zappa-Eager-Warmup-Token"
_TOKEN_META = "HTTP_" + TOKEN_HEADER.upper().replace("-", "_")
#: The current run's secret; None outside a warm-up run, so no request can match it then.
_token: str | None = None
#: A Location is reported up to this length (an app could redirect to a very long URL).
MAX_LOCATION = 300

AUTH_HINT = ("warm a view that needs no login, or serve warm-up requests as a user: docs/settings.md, "
             "'Warming an authenticated view'")
#: 4xx statuses with a known cause: (reason for the log line, hint).
CLIENT_ERROR_HINTS: dict[int, tuple[str, str]] = {
    400: ("bad request", "is the warm-up Host allowed? set headers.Host in eager_init_warmup, "
                         "or add the host to ALLOWED_HOSTS"),
    401: ("needs authentication", AUTH_HINT),
    403: ("needs authentication", AUTH_HINT),
    404: ("no route", "check the path: give it as the app routes it, without the stage prefix"),
}


def is_warmup_request(meta: Mapping[str, Any]) -> bool:
    """True only for a warm-up request this process is sending right now.

    ``meta`` is the WSGI environ (Django's ``request.META``, Flask's ``request.environ``). The
    token is random per warm-up run and cleared when the run ends, so a client that copies the
    header gets False: an app may serve these requests as a warm-up user (docs/settings.md).
    """
    token = _token
    sent = meta.get(_TOKEN_META)
    return token is not None and isinstance(sent, str) and hmac.compare_digest(sent, token)


class RequestHandler(Protocol):
    """What a warm-up needs of upstream's ``LambdaHandler``: its request path (a zappa proxy response back)."""

    def handler(self, event: dict[str, Any], context: LambdaContext) -> object: ...


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
    """Stands in for the Lambda context object during INIT (there is no invocation yet).

    A :class:`~zappa_eager.runtime.contract.LambdaContext`, with the other members of Lambda's
    (the app may read any of them from ``environ["lambda.context"]``).
    """

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


def warmup_event(spec: Mapping[str, Any], default_host: str, token: str | None = None) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event for one warm-up request spec (``token``: see is_warmup_request)."""
    method = str(spec.get("method", "GET")).upper()
    split = urlsplit(str(spec.get("path", "/")))
    headers: dict[str, str] = {"Host": default_host, "User-Agent": "zappa-eager-warmup", WARMUP_HEADER: "1",
                               # API Gateway adds these to every request (apps trust X-Forwarded-Proto for https).
                               "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https"}
    headers.update({str(k): str(v) for k, v in dict(spec.get("headers") or {}).items()})
    if token is not None:  # after the spec's headers: the settings cannot set it
        headers[TOKEN_HEADER] = token
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


Judgement = tuple[WarmupOutcome, str | None, str | None]


def judge(status: int | None, location: str | None, expect: tuple[int, ...] = ()) -> Judgement:
    """``(outcome, reason, hint)`` of an answered warm-up: warmed, redirected or failed."""
    if expect:
        if status in expect:
            return WARMED, None, None
        reason = f"expected {' or '.join(map(str, expect))}, got {status}"
        outcome, _, hint = judge(status, location, ())
        if outcome == WARMED:
            hint = "the view answered; set expect to the status it answers"
        elif outcome == REDIRECTED:
            hint = f"redirected to {location}" if location else "a redirect without Location"
        return FAILED, reason, hint
    if status is None:
        return FAILED, "no status", "the handler's response carries no statusCode"
    if 200 <= status < 300:
        return WARMED, None, None
    if 300 <= status < 400:
        return REDIRECTED, None, ("the view behind the redirect did not run; warm the page it serves, "
                                  "or set expect to this status if the redirect is what users get")
    if status >= 500:
        return FAILED, "app error", "the app raised or answered 5xx: see its log above"
    if status in CLIENT_ERROR_HINTS:
        reason, hint = CLIENT_ERROR_HINTS[status]
        return FAILED, reason, hint
    return FAILED, "refused" if status >= 400 else "unexpected status", "check method, path, headers and body"


def response_location(response: Mapping[str, Any]) -> str | None:
    """The Location header of a zappa proxy response (``headers`` or ``multiValueHeaders``), if any."""
    for key in ("headers", "multiValueHeaders"):
        headers = response.get(key)
        if not isinstance(headers, Mapping):
            continue
        for name, value in headers.items():
            if str(name).lower() != "location":
                continue
            if isinstance(value, list):
                value = value[0] if value else None
            return None if value is None else str(value)[:MAX_LOCATION]
    return None


def expected_statuses(spec: Mapping[str, Any]) -> tuple[int, ...]:
    """A spec's ``expect`` (an int or a list of ints, validated by the packager) as a tuple."""
    raw = spec.get("expect")
    if raw is None:
        return ()
    return tuple(int(s) for s in raw) if isinstance(raw, (list, tuple)) else (int(raw),)


def run_warmup(handler: RequestHandler, specs: list[Mapping[str, Any]], default_host: str,
               rounds: int = 1) -> list[WarmupResult]:
    """Send each request through ``LambdaHandler.handler``, ``rounds`` times over; failures are recorded, never raised.

    One pass leaves the paths that only a repeat takes cold: a cached response is written on
    the first pass and read back on the second, as it will be for the first user.
    """
    global _token
    _token = secrets.token_urlsafe(32)
    try:
        results: list[WarmupResult] = []
        for round_ in range(1, max(rounds, 1) + 1):
            results.extend(_one_round(handler, specs, default_host, round_, _token))
        return results
    finally:
        _token = None


def _one_round(handler: RequestHandler, specs: list[Mapping[str, Any]], default_host: str, round_: int,
               token: str) -> list[WarmupResult]:
    results: list[WarmupResult] = []
    for index, spec in enumerate(specs):
        result = _send(handler, warmup_event(spec, default_host, token), expected_statuses(spec), index, round_)
        results.append(result)
        name = f"{result.method} {result.path}"
        if result.outcome == FAILED:
            print(f"[zappa-eager] warm-up {name} failed: {result.error}", flush=True)
        elif result.outcome == REDIRECTED:
            where = f" to {result.location}" if result.location else ""
            print(f"[zappa-eager] warm-up {name} redirected{where}: {result.hint}", flush=True)
    return results


def _send(handler: RequestHandler, event: dict[str, Any], expect: tuple[int, ...], index: int,
          round_: int) -> WarmupResult:
    started = time.perf_counter()
    status: int | None = None
    location: str | None = None
    try:
        response = handler.handler(event, WarmupContext(index))
        if isinstance(response, dict):
            raw = response.get("statusCode")
            status = int(raw) if raw is not None else None
            location = response_location(response)
        outcome, reason, hint = judge(status, location, expect)
        error = None if outcome != FAILED else f"status {status}: {reason}" + (f"; {hint}" if hint else "")
    except Exception as exc:  # a warm-up must never fail INIT
        traceback.print_exc()
        outcome, reason, hint = FAILED, "exception", "the request raised: see the traceback above"
        error = f"{type(exc).__name__}: {exc}"
    ms = (time.perf_counter() - started) * 1000.0
    return WarmupResult(event["httpMethod"], event["path"], status, ms, error, round_, outcome, location, reason, hint,
                        expect)
