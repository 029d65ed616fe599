"""A loopback S3 (moto_server) that every environment reaches through ``AWS_ENDPOINT_URL_S3``.

moto runs as its own process, not a thread of the emulator: environments download their
archive from it during INIT, and a server sharing the emulator's GIL with the Runtime API
would slow both and blur the INIT figures we measure.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .config import DUMMY_CREDENTIALS
from .wire import free_port


class MotoS3:
    """``python -m moto.server`` on 127.0.0.1, started and stopped with the emulator."""

    def __init__(self, log_path: Path, region: str = "us-east-1", start_timeout_s: float = 60.0) -> None:
        self.log_path = log_path
        self.region = region
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self._client: Any = None

    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise RuntimeError("S3 is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        if self.proc is not None:
            return self.endpoint
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(DUMMY_CREDENTIALS, AWS_DEFAULT_REGION=self.region)
        for _attempt in range(3):
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True,
                )
            if self._wait_ready():
                return self.endpoint
            self.stop()
        raise RuntimeError(f"moto server did not start; see {self.log_path}")

    def _wait_ready(self) -> bool:
        """Poll until moto answers HTTP (startup is an import-heavy second or so)."""
        assert self.proc is not None and self.port is not None
        deadline = time.monotonic() + self.start_timeout_s
        delay = 0.02
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/moto-api/")
                conn.getresponse().read()
                conn.close()
                return True
            except OSError:
                time.sleep(delay)
                delay = min(delay * 1.5, 0.2)
        return False

    def client(self) -> Any:
        """A boto3 S3 client for the tooling side (uploads)."""
        if self._client is None:
            import boto3

            self._client = boto3.session.Session(
                aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
                region_name=self.region,
            ).client("s3", endpoint_url=self.endpoint)
        return self._client

    def put(self, bucket: str, key: str, data: bytes | str | os.PathLike[str]) -> str:
        """Upload ``data`` (bytes, or a file path) to ``s3://bucket/key``, creating the bucket."""
        client = self.client()
        try:
            client.head_bucket(Bucket=bucket)
        except client.exceptions.ClientError:
            kwargs: dict[str, Any] = {"Bucket": bucket}
            if self.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            client.create_bucket(**kwargs)
        if isinstance(data, bytes):
            client.put_object(Bucket=bucket, Key=key, Body=data)
        else:
            client.upload_file(os.fspath(data), bucket, key)
        return f"s3://{bucket}/{key}"

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self._client = None
