"""S3 inside an environment: moto_server on loopback, reached through AWS_ENDPOINT_URL_S3."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from zappa_eager.emulator import Emulator


def test_environment_reads_s3_via_endpoint_url(task_root: Callable[..., Path],
                                               with_packages: Callable[..., None],
                                               tmp_path: Path) -> None:
    root = task_root("s3_reader.py")
    with_packages(root)  # boto3 & co. come from the package on Lambda, never from the runtime
    archive = tmp_path / "archive.tar.gz"
    archive.write_bytes(b"pretend archive")
    with Emulator(root, handler="s3_reader.lambda_handler") as emu:
        endpoint = emu.start_s3()
        assert endpoint.startswith("http://127.0.0.1:")
        assert emu.s3_put("shop-dev-code", "slim/shop.tar.gz", archive) == "s3://shop-dev-code/slim/shop.tar.gz"
        emu.s3_put("shop-dev-code", "hello.txt", b"hello s3")
        result = emu.start_environment("provisioned-concurrency").invoke({"bucket": "shop-dev-code",
                                                                         "key": "hello.txt"})
        assert result.ok, result.error
        assert result.payload["body"] == "hello s3"
        assert result.payload["endpoint"] == endpoint
        assert result.payload["boto3"].startswith(str(emu.task_mount))  # boto3 from the task root
        second = emu.start_environment("on-demand").invoke({"bucket": "shop-dev-code", "key": "slim/shop.tar.gz"})
        assert second.payload["body"] == "pretend archive"
        moto = emu._s3
        assert moto is not None and moto.proc is not None
        moto_proc = moto.proc
    assert moto_proc.returncode is not None  # moto stopped with the emulator
