"""Raw measurements, kept as plain dataclasses so bench.json can carry every figure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from zappa_eager.bench.modes import Mode, is_baseline

#: ``first`` (first request on a pre-initialized environment), ``warm``, ``idle-warm`` (after the same idle
#: gap as the first), ``cold`` (on an on-demand environment: waits for its INIT); ``proactive-*``: the same
#: three on an environment initialized ahead of traffic with INIT type ``on-demand`` (proactive initialization).
RequestKind = Literal["first", "warm", "idle-warm", "cold", "proactive-first", "proactive-warm",
                      "proactive-idle-warm"]


@dataclass
class RequestSample:
    """One request as a CloudWatch user would see it: when it started and how long the caller waited."""

    t_s: float  # seconds since the measurements started
    latency_ms: float  # client-observed (includes INIT on an on-demand environment's first request)
    duration_ms: float  # Lambda's Duration (handler only)
    kind: RequestKind
    path: str
    env: str
    status: int | None
    error: str | None = None
    timed_out: bool = False  # killed at the function timeout (its latency is a lower bound)


@dataclass
class EnvSample:
    """One round of one mode: a pre-initialized environment, a proactively initialized one, an on-demand one."""

    mode: Mode
    variant: str
    round: int
    init_ms: float | None = None  # INIT of the pre-initialized environment
    first_ms: float | None = None  # its first request
    warm_ms: list[float] = field(default_factory=list)  # its warm requests
    warm_median_ms: float | None = None
    idle_warm_ms: float | None = None  # a request after the warm ones and the same idle gap as the first's
    max_rss_mb: float | None = None  # its peak RSS after all requests
    cold_ms: float | None = None  # on-demand environment: INIT + first request, client-observed
    cold_init_ms: float | None = None  # ...of which Init Duration
    cold_rss_mb: float | None = None
    init_report: dict[str, Any] | None = None  # zappa-eager's report (eager modes only)
    #: Proactive initialization: INIT type ``on-demand`` ahead of traffic, the idle gap, then as the
    #: pre-initialized environment (first request, warm ones, idle-warm one).
    proactive_init_ms: float | None = None
    proactive_first_ms: float | None = None
    proactive_warm_median_ms: float | None = None
    proactive_idle_warm_ms: float | None = None
    proactive_rss_mb: float | None = None
    proactive_init_report: dict[str, Any] | None = None
    requests: list[RequestSample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # failures: the run exits non-zero
    #: Limits hit that are measurements, not failures: a baseline mode's request killed at the function
    #: timeout or INIT killed at the INIT limit, any mode's on-demand INIT cut and re-run inside its request.
    limits: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BurstRequest:
    """One request of the burst: arrival offset, latency, and whether it waited for a cold start."""

    mode: Mode
    t_ms: float  # start offset from the first request of the burst
    latency_ms: float
    env: str
    cold: bool  # waited for an on-demand INIT
    prewarmed_first: bool  # first request on a pre-initialized environment
    status: int | None
    error: str | None = None
    timed_out: bool = False  # killed at the function timeout
    init_limit: bool = False  # its on-demand INIT hit the INIT limit and ran again inside the request

    @property
    def failed(self) -> bool:
        """A failure the user must act on; a baseline mode's timeout is a measurement (``modes.is_baseline``)."""
        return self.error is not None and not (self.timed_out and is_baseline(self.mode))
