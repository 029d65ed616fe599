"""Archive faults at the HTTP level: the fault proxy, the bounded S3 reads, and every fault scenario.

The proxy tests drive a real boto3 client through it to a real moto server; the scenario
tests run the reliability site in the emulator (the real awslambdaric) against moto_server
behind the proxy and assert that each row of the table met its goal.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.conftest import use_dummy_aws
from tests.emulator.conftest import nothing_left_running  # noqa: F401 - autouse: no process or thread leaks
from tests.reliability import archivefaults
from tests.reliability.djangoapp import build_archive
from tests.reliability.faultproxy import Fault, FaultProxy
from tests.reliability.lab import FAST_ARCHIVE, Lab
from zappa_eager.emulator import Emulator
from zappa_eager.runtime.archive import ArchiveError, install_project_archive, s3_opener

BUCKET = "zappa-eager-proxy-tests"
KEY = "dev_proxy_current_project.tar.gz"
URL = f"s3://{BUCKET}/{KEY}"
BODY = os.urandom(3 << 20)
MIB = 1 << 20


@pytest.fixture(scope="module")
def upstream(moto_endpoint: str) -> str:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=BODY)
    s3.put_object(Bucket=BUCKET, Key="project.tar.gz", Body=build_archive(FAST_ARCHIVE).data)
    return moto_endpoint


@pytest.fixture
def proxy(upstream: str) -> Iterator[FaultProxy]:
    with FaultProxy(upstream) as running:
        yield running


def client(endpoint: str, read_timeout: float = 1.0) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        config=Config(connect_timeout=1, read_timeout=read_timeout,
                                      retries={"mode": "standard", "total_max_attempts": 1}))


def read(endpoint: str) -> bytes:
    """The object's bytes; the body is closed whatever happens, as the archive loop closes it."""
    body = client(endpoint).get_object(Bucket=BUCKET, Key=KEY)["Body"]
    try:
        data: bytes = body.read()
    finally:
        body.close()
    return data


@pytest.mark.parametrize(("fault", "error"), [
    (Fault("reset", after_bytes=MIB), "ResponseStreamingError"),
    (Fault("cut", after_bytes=MIB), "ResponseStreamingError"),
    (Fault("stall", after_bytes=MIB, stall_s=30), "ReadTimeoutError"),
    (Fault("stall", after_bytes=None, stall_s=30), "ReadTimeoutError"),
    (Fault("reset", after_bytes=None), "ConnectionClosedError"),
    (Fault("status"), "ClientError"),
])
def test_faults_reach_botocore_as_the_real_thing(proxy: FaultProxy, fault: Fault, error: str) -> None:
    proxy.inject(fault)
    with pytest.raises(Exception) as raised:
        read(proxy.endpoint)
    assert type(raised.value).__name__ == error
    if fault.kind == "status":
        assert raised.value.response["Error"]["Code"] == "SlowDown"  # type: ignore[attr-defined]
    (served,) = proxy.wait_for(1)  # recorded once the proxy is done (a stall: when the client gave up)
    assert served.fault == fault.kind
    if fault.after_bytes:
        assert served.body_bytes == MIB and served.content_length == len(BODY)
    assert served.client_gave_up is (fault.kind == "stall")  # the read timeout ended it, not the proxy
    assert read(proxy.endpoint) == BODY  # spent after one request: the next one is relayed whole


def test_fault_matches_its_path_and_times_and_clear_removes_it(proxy: FaultProxy) -> None:
    proxy.inject(Fault("status", times=2, status=403, code="AccessDenied", message="Access Denied",
                       path=f"/{BUCKET}/{KEY}"))
    s3 = client(proxy.endpoint)
    for _ in range(2):
        with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
            s3.get_object(Bucket=BUCKET, Key=KEY)
    assert read(proxy.endpoint) == BODY
    proxy.inject(Fault("status", times=5, path="/another-bucket/"))
    assert read(proxy.endpoint) == BODY  # another path: relayed
    proxy.inject(Fault("reset", times=5))
    proxy.clear()
    assert read(proxy.endpoint) == BODY
    # the proxy records a request once it is done with it, which may be after the client has its response
    assert [s.status for s in proxy.wait_for(5)] == [403, 403, 200, 200, 200]


def test_a_trickle_is_whole(proxy: FaultProxy) -> None:
    proxy.inject(Fault("throttle", rate_bps=8 * MIB))
    assert read(proxy.endpoint) == BODY  # paced, but whole: a trickle is not a stall
    (served,) = proxy.wait_for(1)
    assert served.fault == "throttle" and served.body_bytes == len(BODY) and not served.client_gave_up


def test_a_stalled_archive_download_is_abandoned_after_the_read_timeout_and_retried(
        proxy: FaultProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    proxy.inject(Fault("stall", after_bytes=MIB, stall_s=60, path=f"/{BUCKET}/project.tar.gz"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint)  # as the emulator gives it to an environment
    session = boto3.session.Session(region_name="us-east-1")
    result = install_project_archive(f"s3://{BUCKET}/project.tar.gz", "proj", tmp_root=str(tmp_path),
                                     open_archive=s3_opener(session, read_timeout_s=0.5))
    assert result.attempts == 2 and not result.reused
    first, second = proxy.served()
    assert first.client_gave_up and first.body_bytes == MIB and second.body_bytes == second.content_length
    assert sorted(os.listdir(tmp_path)) == ["proj"]  # the abandoned attempt's partial folder is gone
    out = capsys.readouterr().out
    assert f"archive s3://{BUCKET}/project.tar.gz: attempt 1 of 3 failed (ReadTimeoutError" in out


def test_access_denied_names_the_permission_and_is_not_retried(proxy: FaultProxy, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    proxy.inject(Fault("status", times=10, status=403, code="AccessDenied", message="Access Denied"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint)
    with pytest.raises(ArchiveError) as raised:
        install_project_archive(URL, "proj", tmp_root=str(tmp_path), open_archive=s3_opener())
    assert f"access to project archive {URL} denied (AccessDenied)" in str(raised.value)
    assert f"s3:GetObject on arn:aws:s3:::{BUCKET}/{KEY}" in str(raised.value)
    assert len(proxy.served()) == 1 and os.listdir(tmp_path) == []


def test_s3_opener_bounds_every_wait_and_leaves_retries_to_the_archive_loop() -> None:
    captured: dict[str, Any] = {}

    class Session:
        def client(self, service: str, config: Config) -> Any:
            captured.update(service=service, config=config)
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        s3_opener(Session())("bucket", "key")
    config = captured["config"]
    assert captured["service"] == "s3" and config.read_timeout == 3.0 and config.connect_timeout == 3.0
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}


def test_ephemeral_storage_gives_the_environment_a_sized_tmp(tmp_path: Path) -> None:
    root = tmp_path / "task"
    root.mkdir()
    (root / "filler.py").write_text(
        "import errno\n\n\ndef lambda_handler(event, context):\n"
        "    try:\n        with open('/tmp/fill', 'wb') as out:\n            out.write(bytes(event['bytes']))\n"
        "    except OSError as exc:\n        return {'errno': exc.errno}\n    return {'errno': 0}\n")
    with Emulator(root, handler="filler.lambda_handler", ephemeral_storage_mb=1) as emu:
        env = emu.start_environment("provisioned-concurrency")
        assert env.invoke({"bytes": 2 * MIB}).payload == {"errno": errno.ENOSPC}
        assert env.invoke({"bytes": MIB // 2}).payload == {"errno": 0}
        assert (env.tmp_dir / "fill").stat().st_size == MIB // 2  # seen from the host, after the write
        assert os.path.ismount(env.tmp_dir)
        tmp = env.tmp_dir
    assert not tmp.exists()  # unmounted and removed with the emulator


# -- the scenarios of the reliability table (fast set) ------------------------------------------


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with pytest.MonkeyPatch.context() as patch:
        use_dummy_aws(patch)
        with archivefaults.open_lab(tmp_path_factory.mktemp("reliability-archive"), fast=True) as running:
            yield running


@pytest.mark.e2e
@pytest.mark.parametrize("case", archivefaults.cases(fast=True), ids=lambda case: case.name)
def test_archive_fault_scenario_meets_its_goal(lab: Lab, case: archivefaults.FaultCase) -> None:
    row = archivefaults.run_case(lab, case)
    assert row.met, row.detail
    assert row.tmp_left == []
    if case.gives_up_in_init:
        assert "served" in row.outcome and f"after {archivefaults.ATTEMPTS} attempts" in row.detail
    elif case.transient:
        assert "served" in row.outcome and "[zappa-eager] archive s3://" in row.detail
    else:
        assert all(word in row.detail for word in case.fix_words), row.detail
