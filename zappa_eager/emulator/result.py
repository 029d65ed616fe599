"""What one invoke returned, with the HTTP proxy response decoded for convenience."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Literal

#: Where a failed invoke failed: its environment's INIT, its SnapStart restore, or the handler.
ErrorPhase = Literal["init", "restore", "invoke"]


@dataclass
class InvokeResult:
    """The outcome of :meth:`Environment.invoke`.

    Timings (milliseconds):

    * ``duration_ms`` - from the event handed out on ``invocation/next`` to the response (or
      error) received: Lambda's *Duration*.
    * ``latency_ms`` - what the caller waited, from ``invoke()`` to the result: includes INIT
      of an on-demand environment and the restore of a SnapStart one.
    * ``init_duration_ms`` - the INIT this invoke waited for (first invoke of an on-demand
      environment), else None.
    * ``restore_duration_ms`` - the SnapStart restore this invoke waited for, else None.
    * ``reinit_duration_ms`` - INIT run again inside this invoke because the init limit cut
      the environment's INIT (Lambda's "suppressed init"); part of ``duration_ms``, and the
      REPORT line then has no Init Duration. Else None.
    """

    request_id: str
    environment: str
    raw: bytes = b""
    content_type: str | None = None
    payload: Any = None
    error: dict[str, Any] | None = None
    error_phase: ErrorPhase | None = None
    timed_out: bool = False
    duration_ms: float = 0.0
    latency_ms: float = 0.0
    init_duration_ms: float | None = None
    restore_duration_ms: float | None = None
    reinit_duration_ms: float | None = None
    billed_duration_ms: int = 0
    memory_size_mb: int = 0
    max_memory_mb: int | None = None
    report_line: str = ""
    #: The runtime process that took the event: a Lambda Managed Instances environment runs several
    #: (:class:`~.managed.ManagedEnvironment`); None in the one-process environments.
    process: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def cold(self) -> bool:
        """This invoke waited for an INIT (or ran one again) or a restore."""
        return (self.init_duration_ms is not None or self.restore_duration_ms is not None
                or self.reinit_duration_ms is not None)

    @property
    def error_type(self) -> str | None:
        return None if self.error is None else str(self.error.get("errorType"))

    @property
    def error_message(self) -> str | None:
        return None if self.error is None else str(self.error.get("errorMessage"))

    # -- HTTP proxy responses (API Gateway v1/v2, function URLs) ------------------------------

    @property
    def _proxy(self) -> dict[str, Any] | None:
        if isinstance(self.payload, dict) and "statusCode" in self.payload:
            return self.payload
        return None

    @property
    def status_code(self) -> int | None:
        proxy = self._proxy
        return None if proxy is None else int(proxy["statusCode"])

    @property
    def headers(self) -> dict[str, str]:
        """Response headers; multi-value headers are joined with ``", "``."""
        proxy = self._proxy or {}
        headers = {str(k): str(v) for k, v in (proxy.get("headers") or {}).items()}
        for name, values in (proxy.get("multiValueHeaders") or {}).items():
            headers[str(name)] = ", ".join(str(v) for v in values)
        return headers

    @property
    def cookies(self) -> list[str]:
        proxy = self._proxy or {}
        return [str(c) for c in proxy.get("cookies") or []]

    @property
    def body_bytes(self) -> bytes | None:
        proxy = self._proxy
        if proxy is None or proxy.get("body") is None:
            return None
        body = proxy["body"]
        if not isinstance(body, str):
            body = json.dumps(body)
        return base64.b64decode(body) if proxy.get("isBase64Encoded") else body.encode("utf-8")

    @property
    def body(self) -> str | None:
        """The proxy response body, base64-decoded if needed, as text."""
        data = self.body_bytes
        return None if data is None else data.decode("utf-8", "replace")

    def json(self) -> Any:
        """The proxy response body parsed as JSON."""
        body = self.body
        if body is None:
            raise ValueError("no HTTP proxy body in this result")
        return json.loads(body)
