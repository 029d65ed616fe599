"""How busy the machine was while the bench measured: CPU the bench did not use, and the load average.

Local figures are only as good as the CPU they got. Lambda gives every environment its own
CPU; here the bench's environments share this machine's with each other and with whatever
else runs (a build, a browser, another benchmark). ``CpuWindow`` samples ``/proc/stat`` (all
CPUs' busy time) and ``os.times`` (the bench process and its reaped children: the runtime
processes) at both ends of a phase: the difference is the CPU other processes took. Where
``/proc/stat`` is missing (macOS), only the load average is reported.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from zappa_eager.bench.machine import usable_cpus


def _proc_stat_busy_s() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat's ``cpu`` line."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(value) for value in fields[1:9]]  # user nice system idle iowait irq softirq steal
    hertz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / hertz, sum(ticks) / hertz


def _own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


@dataclass
class CpuWindow:
    """Start at the beginning of a phase, ``result()`` at its end (after its environments were stopped)."""

    started: float = field(default_factory=time.perf_counter)
    machine: tuple[float, float] | None = field(default_factory=_proc_stat_busy_s)
    own: float = field(default_factory=_own_cpu_s)
    load_before: list[float] | None = field(default_factory=_load_average)

    def result(self) -> dict[str, Any]:
        seconds = time.perf_counter() - self.started
        cpus = os.cpu_count() or 1
        result: dict[str, Any] = {
            "seconds": seconds, "cpus": cpus, "usable_cpus": usable_cpus(),
            "load_average_before": self.load_before, "load_average_after": _load_average(),
            "bench_cpu_s": _own_cpu_s() - self.own, "others_cpu_s": None, "others_cpus": None,
        }
        now = _proc_stat_busy_s()
        if self.machine is not None and now is not None and seconds > 0:
            busy = now[0] - self.machine[0]
            others = max(busy - result["bench_cpu_s"], 0.0)
            result["others_cpu_s"] = others
            result["others_cpus"] = others / seconds  # how many CPUs other processes kept busy, on average
        return result


def describe(contention: dict[str, Any] | None) -> str:
    """One line for the table: cores, and how much of them other processes took."""
    if not contention:
        return "contention: not measured"
    load = contention.get("load_average_after") or contention.get("load_average_before")
    others = contention.get("others_cpus")
    taken = "unknown" if others is None else f"{others:.1f} of {contention.get('cpus')} CPUs on average"
    load_text = "" if not load else f"; load average {load[0]:.1f}"
    return (f"{contention.get('usable_cpus')} usable CPUs; other processes kept busy: {taken}{load_text} "
            f"(over {contention.get('seconds', 0):.0f} s)")
