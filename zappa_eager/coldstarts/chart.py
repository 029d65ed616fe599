"""coldstarts.png: the figures of coldstarts.json, in bench.png's visual vocabulary.

Same colours (upstream red, zappa-eager blue; cold starts in near-black, warm in grey), log
scales, percentile lines p50 solid / p95 dashed / p99 dotted, and the same "where INIT goes"
bars (hatched where upstream wrote no init report). Matplotlib's Agg backend: no display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zappa_eager.bench.chart import MODE_COLORS, PERCENTILE_LINES, PHASE_COLORS
from zappa_eager.bench.table import fmt_ms
from zappa_eager.runtime.report import PHASES

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WARM_COLOR = "#8c8c8c"
WARM_P95_COLOR = "#c7c7c7"
COLD_COLOR = "#17202a"
INIT_COLOR = "#ffbb78"


def _color(version: Mapping[str, Any]) -> str:
    return MODE_COLORS["eager"] if version["zappa_eager"] else MODE_COLORS["upstream"]


def _name(version: Mapping[str, Any]) -> str:
    return f"v{version['version']}\n{'zappa-eager' if version['zappa_eager'] else 'no init report'}"


def _cold_requests(ax: Axes, versions: Sequence[Mapping[str, Any]]) -> None:
    for index, version in enumerate(versions):
        figures = version["cold_request_ms"]
        if not figures["count"]:
            continue
        for q, line in PERCENTILE_LINES:
            value = figures.get(q.replace("_ms", ""))
            if value is not None:
                ax.hlines(value, index - 0.32, index + 0.32, colors=_color(version), linestyles=line)
        ax.scatter([index], [figures["max"]], marker="X", color=COLD_COLOR, s=55, linewidths=0, zorder=3)
    ax.set_xticks(range(len(versions)), [f"{_name(v)}\n{v['cold_request_ms']['count']} cold" for v in versions],
                  fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("cold request ms (log)")
    ax.set_title("cold request (INIT + its Duration)\np50 solid, p95 dashed, p99 dotted, X max", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)


def _medians(ax: Axes, versions: Sequence[Mapping[str, Any]]) -> None:
    figures = (("warm_ms", "p50", "warm p50", WARM_COLOR), ("warm_ms", "p95", "warm p95", WARM_P95_COLOR),
               ("init_ms", "p50", "INIT p50 (Init Duration)", INIT_COLOR),
               ("cold_request_ms", "p50", "cold request p50", COLD_COLOR))
    width = 0.2
    for offset, (key, q, label, color) in enumerate(figures):
        xs = [i + (offset - 1.5) * width for i in range(len(versions))]
        values = [v[key][q] or 0.0 for v in versions]
        bars = ax.bar(xs, values, width, label=label, color=color, alpha=0.85)
        for bar, value in zip(bars, values, strict=True):
            if value:
                ax.annotate(fmt_ms(value), (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom",
                            fontsize=6)
    ax.set_xticks(range(len(versions)), [_name(v) for v in versions], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("ms (log)")
    ax.set_title("warm p50 and p95 (p95: first requests on pre-initialized\nenvironments), INIT p50, cold request p50",
                 fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=4)
    ax.grid(True, axis="y", alpha=0.3)


def _phases(ax: Axes, versions: Sequence[Mapping[str, Any]]) -> None:
    labelled = False
    for row, version in enumerate(versions):
        phases = version.get("phases_ms")
        if not phases:
            value = version["init_ms"]["p50"] or 0.0
            ax.barh(row, value, color="#f2f2f2", edgecolor="#999999", hatch="//")
            ax.annotate("INIT p50 (no init report)", (value, row), fontsize=7, va="center", xytext=(4, 0),
                        textcoords="offset points")
            continue
        left = 0.0
        for phase, color in zip(PHASES, PHASE_COLORS, strict=True):
            value = phases.get(phase) or 0.0
            ax.barh(row, value, left=left, color=color, label=None if labelled else phase)
            left += value
        labelled = True
    ax.set_yticks(range(len(versions)), [f"v{v['version']}" for v in versions])
    ax.invert_yaxis()
    ax.set_xlabel("median ms")
    ax.set_title("where INIT goes (zappa-eager's init report)", fontsize=10)
    if labelled:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=len(PHASES))


def draw_chart(doc: Mapping[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    versions = list(doc.get("versions") or [])
    figure = plt.figure(figsize=(max(5.0 * len(versions), 16), 6), dpi=100, layout="constrained")
    cold_ax, medians_ax, phases_ax = figure.subplots(1, 3)
    _cold_requests(cold_ax, versions)
    _medians(medians_ax, versions)
    _phases(phases_ax, versions)
    compare = doc.get("compare") or {}
    headline = ""
    speedup = (compare.get("cold_request_p50") or {}).get("speedup")
    if speedup:
        change = f"{speedup:.2f}x faster" if speedup >= 1 else f"{1 / speedup:.2f}x slower"
        headline = f": cold request p50 v{compare['before']} -> v{compare['after']} {change}"
    figure.suptitle(f"zappa coldstarts {doc.get('stage')} ({doc.get('function')}), {doc['window']['start']} to "
                    f"{doc['window']['end']}, from CloudWatch Logs{headline}", fontsize=12)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
