"""bench.png: the picture a user would draw from CloudWatch, for each mode side by side.

Top row: latency of every request over time, one panel per mode, log scale, with first
requests on pre-initialized and proactively initialized environments, the idle-warm requests
(after the same idle gap) and on-demand cold starts marked - upstream's
spikes on "warm" environments are what zappa-eager removes. Below: the burst, the medians
(first / warm / cold), where INIT goes and the slowest imports. Matplotlib's Agg backend:
no display needed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zappa_eager.bench.table import fmt_ms as _label
from zappa_eager.runtime.report import PHASES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.typing import LineStyleType

MODE_COLORS = {"upstream": "#d62728", "upstream-env": "#ff7f0e", "eager": "#1f77b4", "eager+warmup": "#2ca02c",
               "eager+warmup[skip]": "#8c564b", "eager+warmup[once]": "#9467bd", "eager+warmup[full]": "#bcbd22"}
OTHER_MODE_COLOR = "#7f7f7f"


def mode_color(mode: str) -> str:
    return MODE_COLORS.get(mode, OTHER_MODE_COLOR)
KIND_STYLE: dict[str, dict[str, Any]] = {
    "warm": {"marker": "o", "color": "#8c8c8c", "s": 10, "label": "warm request", "zorder": 2},
    "first": {"marker": "^", "color": "#e377c2", "s": 60, "label": "first request, pre-initialized env", "zorder": 3},
    "idle-warm": {"marker": "s", "color": "#17becf", "s": 30, "label": "warm request after the same idle gap",
                  "zorder": 3},
    "cold": {"marker": "X", "color": "#17202a", "s": 55, "label": "cold start (on-demand: INIT + request)",
             "zorder": 3},
    "proactive-first": {"marker": "v", "color": "#9467bd", "s": 60,
                        "label": "first request, env initialized ahead (INIT type on-demand)", "zorder": 3},
}
#: Kinds drawn with another kind's marker: a proactive environment's warm requests look like any other's.
KIND_DRAWN_AS: dict[str, tuple[str, ...]] = {"warm": ("warm", "proactive-warm"),
                                             "idle-warm": ("idle-warm", "proactive-idle-warm")}
#: Drawn over a request that was killed at the function timeout (its latency is a lower bound).
TIMED_OUT_STYLE: dict[str, Any] = {"marker": "o", "facecolors": "none", "edgecolors": "#d62728", "s": 140,
                                   "linewidths": 1.5, "label": "timed out (at the function timeout)", "zorder": 4}
PHASE_COLORS = ("#9edae5", "#c7c7c7", "#dbdb8d", "#ffbb78", "#aec7e8", "#98df8a")
#: The burst's percentile lines: (figure, line style).
PERCENTILE_LINES: tuple[tuple[str, LineStyleType], ...] = (("p50_ms", "solid"), ("p95_ms", "dashed"),
                                                           ("p99_ms", "dotted"))


def _timeline(axes: Sequence[Axes], doc: Mapping[str, Any], modes: Sequence[str]) -> None:
    variant = doc["variants"].get(doc.get("primary_variant"), {})
    summaries = variant.get("modes", {})
    for ax, mode in zip(axes, modes, strict=True):
        samples = [s for s in variant.get("environments", []) if s["mode"] == mode]
        for kind, style in KIND_STYLE.items():
            kinds = KIND_DRAWN_AS.get(kind, (kind,))
            points = [(r["t_s"], r["latency_ms"]) for s in samples for r in s["requests"] if r["kind"] in kinds]
            if points:
                ax.scatter([p[0] for p in points], [p[1] for p in points], linewidths=0, **style)
        timed_out = [(r["t_s"], r["latency_ms"]) for s in samples for r in s["requests"] if r.get("timed_out")]
        if timed_out:
            ax.scatter([p[0] for p in timed_out], [p[1] for p in timed_out], **TIMED_OUT_STYLE)
        summary = summaries.get(mode, {})
        limits = f" | {summary['limits']} limit(s) hit" if summary.get("limits") else ""
        ax.set_title(f"{mode}\nfirst {_label(summary.get('first_ms'))} | idle-warm "
                     f"{_label(summary.get('idle_warm_ms'))} | warm {_label(summary.get('warm_ms'))} | cold "
                     f"{_label(summary.get('cold_ms'))} ms{limits}", fontsize=10, color=mode_color(mode))
        ax.set_yscale("log")
        ax.set_xlabel("seconds since start")
        ax.grid(True, which="major", alpha=0.3)
    if axes:
        axes[0].set_ylabel("latency ms (log)")


def _burst(ax: Axes, doc: Mapping[str, Any], modes: Sequence[str]) -> None:
    burst = doc.get("burst") or {}
    if not burst.get("modes"):
        ax.text(0.5, 0.5, "no burst measured (--burst 0)", ha="center", va="center", fontsize=9)
        ax.set_axis_off()
        return
    jitter = random.Random(7)
    labelled: set[str] = set()
    for index, mode in enumerate(modes):
        entry = burst.get("modes", {}).get(mode)
        if not entry:
            continue
        for request in entry["samples"]:
            kind = "cold" if request["cold"] else "first" if request["prewarmed_first"] else "warm"
            style = dict(KIND_STYLE[kind])
            label = style.pop("label")
            x = index + jitter.uniform(-0.22, 0.22)
            ax.scatter([x], [request["latency_ms"]], linewidths=0, label=None if kind in labelled else label, **style)
            labelled.add(kind)
            if request.get("timed_out"):
                ring = dict(TIMED_OUT_STYLE)
                ring_label = ring.pop("label")
                ax.scatter([x], [request["latency_ms"]], label=None if "timed out" in labelled else ring_label, **ring)
                labelled.add("timed out")
        for q, line in PERCENTILE_LINES:
            if entry.get(q) is not None:
                ax.hlines(entry[q], index - 0.32, index + 0.32, colors=mode_color(mode), linestyles=line)
    ticks = []
    for mode in modes:
        entry = burst.get("modes", {}).get(mode) or {}
        timed_out = f"\n{entry['timeouts']} timed out" if entry.get("timeouts") else ""
        ticks.append(f"{mode}\np50 {_label(entry.get('p50_ms'))} | p99 {_label(entry.get('p99_ms'))} ms\n"
                     f"on pre-initialized: {_label(entry.get('prewarmed_first_ms'))} ms{timed_out}")
    ax.set_xticks(range(len(modes)), ticks, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("latency ms (log)")
    contention = burst.get("contention") or {}
    others = contention.get("others_cpus")
    busy = "" if others is None else f", other processes {others:.1f} CPUs"
    ax.set_title(f"burst: {burst.get('requests')} concurrent requests, {burst.get('prewarmed')} pre-initialized "
                 f"env(s) on {contention.get('usable_cpus', '?')} CPUs{busy}\n"
                 "lines: p50 (solid), p95 (dashed), p99 (dotted)", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    if labelled:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)


def _medians(ax: Axes, doc: Mapping[str, Any], modes: Sequence[str]) -> None:
    figures = (("first_ms", "first (pre-initialized)", "#e377c2"), ("warm_ms", "warm", "#8c8c8c"),
               ("cold_ms", "cold (on-demand)", "#17202a"))
    width = 0.26
    for offset, (key, label, color) in enumerate(figures):
        xs = [i + (offset - 1) * width for i in range(len(modes))]
        values = [doc["modes"].get(mode, {}).get(key) or 0.0 for mode in modes]
        bars = ax.bar(xs, values, width, label=label, color=color, alpha=0.85)
        for bar, value in zip(bars, values, strict=True):
            if value:
                ax.annotate(_label(value), (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom",
                            fontsize=6)
    ax.set_xticks(range(len(modes)), list(modes))
    ax.set_yscale("log")
    ax.set_ylabel("median ms (log)")
    ax.set_title("medians: first request vs warm vs cold start", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3)
    ax.grid(True, axis="y", alpha=0.3)


def _phases(ax: Axes, doc: Mapping[str, Any], modes: Sequence[str]) -> None:
    phases = doc.get("init_phases") or {}
    labelled = False
    for row, mode in enumerate(modes):
        if mode not in phases:
            value = doc["modes"].get(mode, {}).get("init_ms") or 0.0
            ax.barh(row, value, color="#f2f2f2", edgecolor="#999999", hatch="//")
            ax.annotate("INIT (upstream: no report)", (value, row), fontsize=7, va="center", xytext=(4, 0),
                        textcoords="offset points")
            continue
        left = 0.0
        for phase, color in zip(PHASES, PHASE_COLORS, strict=True):
            value = phases[mode].get(phase) or 0.0
            ax.barh(row, value, left=left, color=color, label=None if labelled else phase)
            left += value
        labelled = True
    ax.set_yticks(range(len(modes)), list(modes))
    ax.invert_yaxis()
    ax.set_xlabel("median INIT ms (pre-initialized)")
    ax.set_title("where INIT goes", fontsize=10)
    if labelled:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=len(PHASES))


def _imports(ax: Axes, doc: Mapping[str, Any]) -> None:
    imports = doc.get("imports") or {}
    rows = list(imports.get("top_cumulative") or [])[:10]
    if not rows:
        ax.text(0.5, 0.5, imports.get("error") or "no import profile", ha="center", va="center", fontsize=8)
        ax.set_axis_off()
        return
    names = [str(r["module"]) for r in rows]
    ax.barh(range(len(rows)), [r["cumulative_us"] / 1000.0 for r in rows], color="#aec7e8", label="cumulative")
    ax.barh(range(len(rows)), [r["self_us"] / 1000.0 for r in rows], color="#1f77b4", label="self")
    ax.set_yticks(range(len(rows)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("ms")
    ax.set_title(f"slowest imports during INIT ({imports.get('mode')}, -X importtime)", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")


def draw_chart(doc: Mapping[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(doc.get("modes") or {})
    figure = plt.figure(figsize=(max(4.2 * len(modes), 14), 14), dpi=100, layout="constrained")
    rows: Any = figure.subfigures(3, 1, height_ratios=(1.1, 1.0, 0.9))  # each row laid out on its own
    top, middle, bottom = rows
    timeline = top.subplots(1, max(len(modes), 1), sharex=True, sharey=True, squeeze=False)[0]
    _timeline(list(timeline), doc, modes)
    handles, labels = timeline[0].get_legend_handles_labels()
    if handles:
        top.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8)
    burst_ax, medians_ax = middle.subplots(1, 2)
    _burst(burst_ax, doc, modes)
    _medians(medians_ax, doc, modes)
    phases_ax, imports_ax = bottom.subplots(1, 2)
    _phases(phases_ax, doc, modes)
    _imports(imports_ax, doc)
    machine = doc.get("machine", {})
    figure.suptitle(f"zappa bench {doc.get('stage')} ({doc.get('function')}, {doc.get('primary_variant')}): "
                    f"upstream zappa vs zappa-eager on {machine.get('cpu_model')}, {machine.get('usable_cores')} "
                    f"cores - local Lambda emulator", fontsize=12)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
