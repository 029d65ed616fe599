"""The demo's moto_server answers ListFunctionUrlConfigs, so upstream's function-URL code runs against it."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator

import boto3
import botocore.exceptions
import pytest
from zappa.core import Zappa

from zappa_eager.emulator.motoext import EXTENSIONS, MotoServer

URL_CONFIG = {"authorizer": "NONE", "cors": {}}


@pytest.fixture
def server() -> Iterator[MotoServer]:
    with MotoServer() as running:
        yield running


def create_function(endpoint: str) -> str:
    """A new function (moto's state is per process, shared by every server and test: unique names)."""
    name = f"motoext-{uuid.uuid4().hex[:12]}"
    iam = boto3.client("iam", endpoint_url=endpoint)
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
    created = boto3.client("lambda", endpoint_url=endpoint).create_function(
        FunctionName=name, Runtime="python3.11", Role=role, Handler="handler.lambda_handler",
        Code={"ZipFile": code.getvalue()})
    return str(created["FunctionArn"])


def test_upstream_lists_and_deletes_function_urls_through_the_extension(
        server: MotoServer, capsys: pytest.CaptureFixture[str]) -> None:
    arn = create_function(server.endpoint)
    zappa = Zappa(aws_region="us-east-1", runtime="python3.11", endpoint_urls={"lambda": server.endpoint})
    lambda_client = zappa.lambda_client

    zappa.delete_lambda_function_url(arn)  # what `zappa update` does last for a stage without a URL
    assert lambda_client.list_function_url_configs(FunctionName=arn)["FunctionUrlConfigs"] == []

    zappa.deploy_lambda_function_url(arn, URL_CONFIG)
    [listed] = lambda_client.list_function_url_configs(FunctionName=arn, MaxItems=50)["FunctionUrlConfigs"]
    assert listed["FunctionArn"] == arn and listed["AuthType"] == "NONE"
    assert listed["FunctionUrl"] == lambda_client.get_function_url_config(FunctionName=arn)["FunctionUrl"]

    zappa.delete_lambda_function_url(arn)
    assert f"function URL deleted: {listed['FunctionUrl']}" in capsys.readouterr().out
    assert lambda_client.list_function_url_configs(FunctionName=arn)["FunctionUrlConfigs"] == []
    assert zappa.list_function_url_policy(arn) == []  # upstream removed its public-access permission too
    assert server.unrouted == []


def test_an_unknown_function_is_resource_not_found_as_on_aws(server: MotoServer) -> None:
    lambda_client = boto3.client("lambda", endpoint_url=server.endpoint)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.list_function_url_configs(FunctionName="missing")


def test_calls_moto_has_no_route_for_are_recorded(server: MotoServer) -> None:
    arn = create_function(server.endpoint)
    lambda_client = boto3.client("lambda", endpoint_url=server.endpoint)
    with pytest.raises(botocore.exceptions.ClientError, match=r"\(404\).*<!doctype html>"):
        lambda_client.get_provisioned_concurrency_config(FunctionName=arn, Qualifier="live")
    lambda_client.get_function(FunctionName=arn)  # routed: not recorded
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_function(FunctionName="missing")  # moto's own "not found": routed, not recorded
    assert server.unrouted == [f"GET /2019-09-30/functions/{arn}/provisioned-concurrency"]


def test_moto_alone_has_no_route_for_the_extensions(moto_endpoint: str) -> None:
    """moto_server without the extension answers 404 HTML: when this fails, moto routes it and motoext can go."""
    assert EXTENSIONS == ("lambda:ListFunctionUrlConfigs",)
    arn = create_function(moto_endpoint)
    with pytest.raises(botocore.exceptions.ClientError, match=r"\(404\) when calling the ListFunctionUrlConfigs"):
        boto3.client("lambda", endpoint_url=moto_endpoint).list_function_url_configs(FunctionName=arn)
