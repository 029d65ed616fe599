"""Event builders: the shapes API Gateway, function URLs and EventBridge really send, and how Zappa reads them."""

from __future__ import annotations

import base64
import json
from typing import Any

from zappa.wsgi import create_wsgi_request

from zappa_eager.emulator import events


def test_v1_rest_proxy_event_shape() -> None:
    event = events.api_gateway_v1("post", "/api/items?x=1", query={"tag": ["a", "b"]},
                                  headers={"Accept": "application/json", "X-Multi": ["1", "2"]},
                                  body={"name": "n"})
    assert event["httpMethod"] == "POST"
    assert event["path"] == "/api/items"
    assert event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": "api/items"}
    assert event["queryStringParameters"] == {"x": "1", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1"], "tag": ["a", "b"]}
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["headers"]["Host"] == "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    assert event["headers"]["X-Forwarded-Proto"] == "https"
    assert json.loads(event["body"]) == {"name": "n"}
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["path"] == "/dev/api/items"
    assert context["stage"] == "dev"
    assert context["httpMethod"] == "POST"
    assert context["identity"]["sourceIp"] == "203.0.113.10"
    assert set(context) >= {"requestId", "requestTimeEpoch", "accountId", "apiId", "domainName", "resourcePath"}


def test_v1_root_path_and_empty_query() -> None:
    event = events.api_gateway_v1("GET", "/")
    assert event["resource"] == "/"
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None
    assert event["stageVariables"] is None


def test_binary_body_is_base64() -> None:
    event = events.api_gateway_v1("PUT", "/upload", body=b"\x00\xffdata")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xffdata"


def test_v2_http_api_event_shape() -> None:
    event = events.api_gateway_v2("GET", "/items", query="a=1&a=2&b=%20x",
                                  headers={"X-Multi": ["1", "2"], "Cookie": "s=1; t=2"}, cookies=["u=3"],
                                  stage="dev")
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/dev/items"
    assert event["rawQueryString"] == "a=1&a=2&b=%20x"
    assert event["queryStringParameters"] == {"a": "1,2", "b": " x"}
    assert event["cookies"] == ["u=3", "s=1", "t=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "1,2"
    assert all(name == name.lower() for name in event["headers"])
    http = event["requestContext"]["http"]
    assert http == {"method": "GET", "path": "/dev/items", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10",
                    "userAgent": event["headers"]["user-agent"]}
    assert event["requestContext"]["stage"] == "dev"
    assert "body" not in event and event["isBase64Encoded"] is False


def test_v2_default_stage_and_body() -> None:
    event = events.api_gateway_v2("POST", "/x", body="hello")
    assert event["rawPath"] == "/x"
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event and "cookies" not in event
    assert event["body"] == "hello"
    assert event["headers"]["content-length"] == "5"


def test_function_url_event_shape() -> None:
    event = events.function_url("GET", "/healthz", query={"q": "1"})
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/healthz"
    assert event["rawQueryString"] == "q=1"
    context = event["requestContext"]
    assert context["stage"] == "$default" and context["routeKey"] == "$default"
    assert context["domainName"].endswith(".lambda-url.us-east-1.on.aws")
    assert event["headers"]["host"] == context["domainName"]
    assert event["headers"]["x-amzn-tls-version"] == "TLSv1.3"


def test_keep_warm_is_detected_like_zappa_does() -> None:
    event = events.keep_warm("shop-dev")
    assert event["detail-type"] == "Scheduled Event"
    assert event["resources"][0] == ("arn:aws:events:us-east-1:123456789012:rule/"
                                     "shop-dev-zappa-keep-warm-handler.keep_warm_callback")
    # zappa/handler.py's test, verbatim:
    whole_function = event["resources"][0].split("/")[-1].split("-")[-1]
    assert whole_function.rsplit(".", 1)[-1] == "keep_warm_callback"


def test_zappa_turns_v1_and_v2_events_into_the_same_wsgi_request() -> None:
    kwargs: dict[str, Any] = {"query": {"q": "a b"}, "headers": {"X-Token": "t"}, "body": "payload"}
    for event, script_name in ((events.api_gateway_v1("POST", "/api/x", **kwargs), ""),
                               (events.api_gateway_v2("POST", "/api/x", **kwargs), ""),
                               (events.api_gateway_v2("POST", "/api/x", stage="dev", **kwargs), "/dev"),
                               (events.function_url("POST", "/api/x", **kwargs), "")):
        environ = create_wsgi_request(event, script_name=script_name)
        assert environ["REQUEST_METHOD"] == "POST"
        assert environ["PATH_INFO"] == "/api/x"
        assert environ["QUERY_STRING"] in ("q=a+b", "q=a%20b")
        assert environ["HTTP_X_TOKEN"] == "t"
        assert environ["wsgi.input"].read() == b"payload"


def test_http_dispatch() -> None:
    assert events.http("v1", "GET", "/a")["httpMethod"] == "GET"
    assert events.http("v2", "GET", "/a")["version"] == "2.0"
    assert "lambda-url" in events.http("url", "GET", "/a")["requestContext"]["domainName"]
