"""Events shaped like the ones AWS really sends: API Gateway REST (v1) and HTTP API (v2) proxy
events, Lambda function URL events, and Zappa's keep-warm CloudWatch schedule.

Every HTTP builder takes ``method, path, query, headers, body``:

* ``path`` may carry a query string (``"/search?q=x"``), merged with ``query``.
* ``query``: ``"a=1&a=2"``, a mapping of name -> value or list of values, or (name, value) pairs.
* ``headers``: a mapping of name -> value or list of values, or (name, value) pairs.
* ``body``: ``str`` (sent as is), ``bytes`` (base64, ``isBase64Encoded: true``), or a
  dict/list (JSON, with ``Content-Type: application/json`` unless given).

Defaults model a regional REST API / HTTP API in us-east-1 called from 203.0.113.10.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, urlencode

QueryLike: TypeAlias = "str | Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]] | None"
HeadersLike: TypeAlias = "Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]] | None"

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
API_ID = "a1b2c3d4e5"
URL_ID = "abcdefghijklmnopqrstuvwxyz012345"
SOURCE_IP = "203.0.113.10"
USER_AGENT = "zappa-eager-emulator/1.0"


def _pairs(items: QueryLike | HeadersLike) -> list[tuple[str, str]]:
    if items is None:
        return []
    if isinstance(items, str):
        return parse_qsl(items.lstrip("?"), keep_blank_values=True)
    if isinstance(items, Mapping):
        pairs: list[tuple[str, str]] = []
        for name, value in items.items():
            if isinstance(value, (list, tuple)):
                pairs.extend((str(name), str(v)) for v in value)
            else:
                pairs.append((str(name), str(value)))
        return pairs
    return [(str(name), str(value)) for name, value in items]


def _split_path(path: str, query: QueryLike) -> tuple[str, list[tuple[str, str]], str]:
    """(path, query pairs, raw query string) - keeps the caller's raw string when one was given."""
    path, _, inline = path.partition("?")
    path = path or "/"
    if not path.startswith("/"):
        path = "/" + path
    pairs = _pairs(inline) + _pairs(query)
    if query is None or isinstance(query, str):
        raw = "&".join(part for part in (inline, (query or "").lstrip("?")) if part)
    else:
        raw = urlencode(pairs)
    return path, pairs, raw


def _body(body: Any, headers: list[tuple[str, str]], is_base64: bool | None) -> tuple[str | None, bool]:
    if body is None:
        return None, bool(is_base64)
    if isinstance(body, (dict, list)):
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        body = json.dumps(body)
    if isinstance(body, (bytes, bytearray)):
        return base64.b64encode(bytes(body)).decode("ascii"), True if is_base64 is None else is_base64
    return str(body), bool(is_base64)


def _has(headers: list[tuple[str, str]], name: str) -> bool:
    return any(existing.lower() == name.lower() for existing, _ in headers)


def _default_headers(headers: list[tuple[str, str]], host: str, source_ip: str, lowercase: bool) -> None:
    defaults = [
        ("Host", host),
        ("User-Agent", USER_AGENT),
        ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"),
        ("X-Forwarded-For", source_ip),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
    ]
    for name, value in defaults:
        if not _has(headers, name):
            headers.append((name.lower() if lowercase else name, value))


def _request_time(now: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))


def _user_agent(headers: list[tuple[str, str]]) -> str:
    return next((value for name, value in headers if name.lower() == "user-agent"), "")


def api_gateway_v1(method: str = "GET", path: str = "/", query: QueryLike = None, headers: HeadersLike = None,
                   body: Any = None, *, is_base64_encoded: bool | None = None, stage: str = "dev",
                   resource: str | None = None, path_parameters: dict[str, str] | None = None,
                   stage_variables: dict[str, str] | None = None, source_ip: str = SOURCE_IP,
                   api_id: str = API_ID, region: str = REGION, account_id: str = ACCOUNT_ID,
                   authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """A REST API (payload format 1.0) Lambda proxy event, as Zappa's ``/`` + ``/{proxy+}`` resources get it."""
    method = method.upper()
    path, query_pairs, _ = _split_path(path, query)
    header_pairs = _pairs(headers)
    encoded_body, b64 = _body(body, header_pairs, is_base64_encoded)
    host = f"{api_id}.execute-api.{region}.amazonaws.com"
    _default_headers(header_pairs, host, source_ip, lowercase=False)
    if resource is None:
        resource = "/" if path == "/" else "/{proxy+}"
    if path_parameters is None and resource == "/{proxy+}":
        path_parameters = {"proxy": path.lstrip("/")}
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in header_pairs:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in query_pairs:
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)
    now = time.time()
    request_context: dict[str, Any] = {
        "resourceId": secrets.token_hex(3),
        "resourcePath": resource,
        "httpMethod": method,
        "extendedRequestId": base64.b64encode(secrets.token_bytes(12)).decode("ascii"),
        "requestTime": _request_time(now),
        "path": f"/{stage}{path}",
        "accountId": account_id,
        "protocol": "HTTP/1.1",
        "stage": stage,
        "domainPrefix": api_id,
        "requestTimeEpoch": int(now * 1000),
        "requestId": str(uuid.uuid4()),
        "identity": {
            "cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None, "caller": None,
            "sourceIp": source_ip, "principalOrgId": None, "accessKey": None, "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None, "userArn": None, "userAgent": _user_agent(header_pairs),
            "user": None,
        },
        "domainName": host,
        "deploymentId": secrets.token_hex(3),
        "apiId": api_id,
    }
    if authorizer is not None:
        request_context["authorizer"] = authorizer
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters,
        "stageVariables": stage_variables,
        "requestContext": request_context,
        "body": encoded_body,
        "isBase64Encoded": b64,
    }


def _v2(method: str, path: str, query: QueryLike, headers: HeadersLike, body: Any, cookies: Sequence[str] | None,
        is_base64_encoded: bool | None, *, raw_path_prefix: str, host: str, source_ip: str,
        request_context: dict[str, Any], extra_headers: list[tuple[str, str]]) -> dict[str, Any]:
    """Payload format 2.0: lower-case headers joined with commas, cookies apart, raw path and query."""
    method = method.upper()
    path, query_pairs, raw_query = _split_path(path, query)
    header_pairs = [(name.lower(), value) for name, value in _pairs(headers)]
    encoded_body, b64 = _body(body, header_pairs, is_base64_encoded)
    header_pairs = [(name.lower(), value) for name, value in header_pairs]
    _default_headers(header_pairs, host, source_ip, lowercase=True)
    for name, value in extra_headers:
        if not _has(header_pairs, name):
            header_pairs.append((name, value))
    if encoded_body is not None and not _has(header_pairs, "content-length"):
        length = len(base64.b64decode(encoded_body)) if b64 else len(encoded_body.encode("utf-8"))
        header_pairs.append(("content-length", str(length)))
    all_cookies = list(cookies or [])
    joined: dict[str, str] = {}
    for name, value in header_pairs:
        if name == "cookie":
            all_cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    query_params: dict[str, str] = {}
    for name, value in query_pairs:
        query_params[name] = f"{query_params[name]},{value}" if name in query_params else value
    raw_path = f"{raw_path_prefix}{path}"
    now = time.time()
    request_context.update({
        "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                 "userAgent": joined.get("user-agent", "")},
        "requestId": request_context.get("requestId") or str(uuid.uuid4()),
        "time": _request_time(now),
        "timeEpoch": int(now * 1000),
    })
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": request_context["routeKey"],
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if all_cookies:
        event["cookies"] = all_cookies
    event["headers"] = joined
    if query_params:
        event["queryStringParameters"] = query_params
    event["requestContext"] = request_context
    if encoded_body is not None:
        event["body"] = encoded_body
    event["isBase64Encoded"] = b64
    return event


def api_gateway_v2(method: str = "GET", path: str = "/", query: QueryLike = None, headers: HeadersLike = None,
                   body: Any = None, *, cookies: Sequence[str] | None = None, is_base64_encoded: bool | None = None,
                   stage: str = "$default", route_key: str = "$default", path_parameters: dict[str, str] | None = None,
                   stage_variables: dict[str, str] | None = None, source_ip: str = SOURCE_IP, api_id: str = API_ID,
                   region: str = REGION, account_id: str = ACCOUNT_ID) -> dict[str, Any]:
    """An HTTP API (payload format 2.0) event; a named ``stage`` prefixes ``rawPath`` as API Gateway does."""
    host = f"{api_id}.execute-api.{region}.amazonaws.com"
    context: dict[str, Any] = {"accountId": account_id, "apiId": api_id, "domainName": host, "domainPrefix": api_id,
                               "routeKey": route_key, "stage": stage}
    event = _v2(method, path, query, headers, body, cookies, is_base64_encoded,
                raw_path_prefix="" if stage == "$default" else f"/{stage}", host=host, source_ip=source_ip,
                request_context=context, extra_headers=[])
    if path_parameters:
        event["pathParameters"] = path_parameters
    if stage_variables:
        event["stageVariables"] = stage_variables
    return _order_v2(event)


def function_url(method: str = "GET", path: str = "/", query: QueryLike = None, headers: HeadersLike = None,
                 body: Any = None, *, cookies: Sequence[str] | None = None, is_base64_encoded: bool | None = None,
                 source_ip: str = SOURCE_IP, url_id: str = URL_ID, region: str = REGION) -> dict[str, Any]:
    """A Lambda function URL event (payload format 2.0, stage and route ``$default``, no API id)."""
    host = f"{url_id}.lambda-url.{region}.on.aws"
    context: dict[str, Any] = {"accountId": "anonymous", "apiId": url_id, "domainName": host, "domainPrefix": url_id,
                               "routeKey": "$default", "stage": "$default"}
    tls = [("x-amzn-tls-version", "TLSv1.3"), ("x-amzn-tls-cipher-suite", "TLS_AES_128_GCM_SHA256")]
    return _order_v2(_v2(method, path, query, headers, body, cookies, is_base64_encoded, raw_path_prefix="",
                         host=host, source_ip=source_ip, request_context=context, extra_headers=tls))


def _order_v2(event: dict[str, Any]) -> dict[str, Any]:
    order = ["version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers", "queryStringParameters",
             "requestContext", "body", "pathParameters", "isBase64Encoded", "stageVariables"]
    return {key: event[key] for key in order if key in event}


def scheduled(rule_name: str, *, region: str = REGION, account_id: str = ACCOUNT_ID) -> dict[str, Any]:
    """A CloudWatch Events / EventBridge scheduled event for rule ``rule_name``."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account_id}:rule/{rule_name}"],
        "detail": {},
    }


def keep_warm(function_name: str = "function", *, region: str = REGION, account_id: str = ACCOUNT_ID) -> dict[str, Any]:
    """Zappa's keep-warm ping: rule ``<function>-zappa-keep-warm-handler.keep_warm_callback``.

    zappa.handler recognises it by ``resources[0]`` ending in ``handler.keep_warm_callback``.
    """
    return scheduled(f"{function_name}-zappa-keep-warm-handler.keep_warm_callback", region=region,
                     account_id=account_id)


HTTP_KINDS = {"v1": api_gateway_v1, "rest": api_gateway_v1, "v2": api_gateway_v2, "http": api_gateway_v2,
              "url": function_url, "function_url": function_url}


def http(kind: str, method: str = "GET", path: str = "/", query: QueryLike = None, headers: HeadersLike = None,
         body: Any = None, **options: Any) -> dict[str, Any]:
    """Dispatch on ``kind``: ``v1``/``rest``, ``v2``/``http``, ``url``/``function_url``."""
    try:
        builder = HTTP_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown event kind {kind!r}; one of {', '.join(HTTP_KINDS)}") from None
    built: dict[str, Any] = builder(method, path, query, headers, body, **options)  # type: ignore[operator]
    return built
