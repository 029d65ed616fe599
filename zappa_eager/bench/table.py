"""The terminal summary, rendered from the bench.json document (so both always agree)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zappa_eager.bench.contention import describe as describe_contention
from zappa_eager.bench.stats import ARCHIVE_SPLIT, INIT_FLAGS
from zappa_eager.runtime.report import PHASES

VARIANT_TITLES = {"slim_off": "slim_handler off", "slim_on": "slim_handler on"}
MAX_ERRORS = 10
MB = 1024 * 1024
FLAG_TITLES = {"boto3_in_init": "boto3 in INIT", "gc_paused": "GC paused"}


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def grid(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Left-aligned first column, right-aligned numbers."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for row in (headers, *rows):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in pairs]
        lines.append(indent + "  ".join(cells).rstrip())
    return lines


def fmt_mb(value: float | None) -> str:
    return "-" if value is None else f"{value / MB:.1f}"


def modes_table(modes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One row per mode; a ``limits`` column when a timeout or the INIT limit was hit (a measurement)."""
    headers: tuple[str, ...] = ("mode", "INIT ms", "first ms", "warm ms", "idle-warm ms", "cold ms", "first/warm",
                                "first/idle-warm", "cold/upstream cold", "RSS MB")
    rows: list[tuple[str, ...]] = [
        (mode, fmt_ms(m.get("init_ms")), fmt_ms(m.get("first_ms")), fmt_ms(m.get("warm_ms")),
         fmt_ms(m.get("idle_warm_ms")), fmt_ms(m.get("cold_ms")), fmt_ratio(m.get("first_over_warm")),
         fmt_ratio(m.get("first_over_idle_warm")), fmt_ratio(m.get("cold_over_upstream_cold")),
         fmt_ms(m.get("max_rss_mb")))
        for mode, m in modes.items()
    ]
    if any(m.get("limits") for m in modes.values()):
        headers = (*headers, "limits hit")
        rows = [(*row, str(m.get("limits") or 0)) for row, m in zip(rows, modes.values(), strict=True)]
    return grid(headers, rows)


def proactive_table(modes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Both patterns of INIT type on-demand per mode: a caller waiting for INIT (cold), and an environment
    initialized ahead of traffic (proactive), its first request against an idle-warm one after the same gap."""
    headers = ("mode", "cold ms", "proactive INIT ms", "first ms", "idle-warm ms", "first/idle-warm", "warm ms")
    rows = [(mode, fmt_ms(m.get("cold_ms")), fmt_ms(m.get("proactive_init_ms")), fmt_ms(m.get("proactive_first_ms")),
             fmt_ms(m.get("proactive_idle_warm_ms")), fmt_ratio(m.get("proactive_first_over_idle_warm")),
             fmt_ms(m.get("proactive_warm_ms")))
            for mode, m in modes.items()]
    return grid(headers, rows)


def has_proactive(modes: Mapping[str, Mapping[str, Any]]) -> bool:
    return any(m.get("proactive_init_ms") is not None or m.get("proactive_first_ms") is not None
               for m in modes.values())


def fmt_flag(value: Any) -> str:
    return "-" if value is None else "yes" if value is True else "no" if value is False else str(value)


def packages_table(modes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The package each mode ran: sizes (zip + slim_handler tarball), files, bytecode state."""
    rows = []
    for mode, m in modes.items():
        package = m.get("package") or {}
        rows.append((mode, str(package.get("packaging") or "-"), fmt_mb(package.get("zipped_bytes")),
                     fmt_mb(package.get("unzipped_bytes")), str(package.get("files") or "-"),
                     str(package.get("bytecode") or "-")))
    return grid(("package of", "packaging", "zipped MB", "unzipped MB", "files", "bytecode"), rows)


def archive_lines(unpack: Mapping[str, Any]) -> list[str]:
    """Upstream's unpack of the eager package's tarball against ours: the figures, then what they are."""
    if unpack.get("error"):
        return [f"  archive phase: not measured ({unpack['error']})"]
    upstream_files = unpack.get("upstream_archive_files")
    other = f"; upstream's own tarball: {upstream_files} files" if upstream_files is not None else ""
    return [f"  archive phase: upstream unpack {fmt_ms(unpack.get('upstream_median_ms'))} ms, zappa-eager "
            f"{fmt_ms(unpack.get('eager_median_ms'))} ms, {fmt_ratio(unpack.get('speedup'))}, "
            f"{unpack.get('files')} files ({fmt_mb(unpack.get('unpacked_bytes'))} MB)",
            f"    medians of {unpack.get('runs')} alternated runs each, on the zappa-eager package's tarball{other}"]


def burst_table(burst: Mapping[str, Any]) -> list[str]:
    headers = ("mode", "p50 ms", "p95 ms", "p99 ms", "max ms", "on pre-initialized ms", "cold starts", "timed out",
               "errors")
    rows = [(mode, fmt_ms(b.get("p50_ms")), fmt_ms(b.get("p95_ms")), fmt_ms(b.get("p99_ms")),
             fmt_ms(b.get("max_ms")), fmt_ms(b.get("prewarmed_first_ms")),
             f"{b.get('cold_starts', 0)}/{b.get('requests', 0)}", str(b.get("timeouts", 0)), str(b.get("errors", 0)))
            for mode, b in burst.get("modes", {}).items()]
    return grid(headers, rows)


def phases_line(phases: Mapping[str, float]) -> str:
    """Where the run's time went, in seconds: ``packaging 41 s, task roots 3 s, ..., total 180 s``."""
    return "time: " + ", ".join(f"{name} {value:.0f} s" for name, value in phases.items())


def phases_table(phases: Mapping[str, Mapping[str, float | None]],
                 flags: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """Median ms per INIT phase; the archive split (download, inflate, write) when the reports have it (and
    it is not 0 everywhere: no slim_handler), and
    per mode whether INIT imported boto3 and held the garbage collector off (``flags``: mode -> summary)."""
    split = tuple(part for part in ARCHIVE_SPLIT if any(values.get(part) for values in phases.values()))  # not all 0
    names = (*PHASES, *split, "total")
    headers = ("mode", *(name.replace("archive_", "archive ") for name in names))
    rows = [(mode, *(fmt_ms(values.get(name)) for name in names)) for mode, values in phases.items()]
    shown = [key for key in INIT_FLAGS if flags and any((flags.get(mode) or {}).get(key) is not None
                                                          for mode in phases)]
    if shown:
        headers = (*headers, *(FLAG_TITLES[key] for key in shown))
        rows = [(*row, *(fmt_flag((flags or {}).get(mode, {}).get(key)) for key in shown))
                for row, mode in zip(rows, phases, strict=True)]
    return grid(headers, rows)


def unused_table(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = [(str(e["module"]), fmt_ms(e["cumulative_us"] / 1000.0), fmt_ms(e["self_us"] / 1000.0), str(e["modules"]))
            for e in entries]
    return grid(("module", "cumulative ms", "self ms", "modules"), rows)


def unused_lines(imports: Mapping[str, Any], count: int = 10) -> list[str]:
    """INIT's imports the profiled first requests never ran any code of (top-level packages, then subpackages
    of the packages they did use)."""
    packages, modules = imports.get("unused_packages"), imports.get("unused_modules")
    if packages is None:
        return []
    what = (f"the first request and {max(int(imports.get('requests') or 0) - 1, 0)} warm one(s) on the bench "
            "paths")
    out = ["", f"imported in INIT, never run by {what} ({imports.get('mode')}; by cumulative import time)"]
    out += unused_table(packages[:count]) if packages else ["  none: the requests ran code of every package"]
    if modules:
        out += ["  subpackages of packages the requests did use:", *unused_table(modules[:count])]
    if imports.get("request_errors"):
        out.append(f"  a profiled request failed: {imports['request_errors'][0]}")
    return out


def imports_table(imports: Mapping[str, Any]) -> list[str]:
    rows = [(str(r["module"]), fmt_ms(r["cumulative_us"] / 1000.0),
             fmt_ms(r["self_us"] / 1000.0)) for r in imports.get("top_cumulative", [])]
    return grid(("module", "cumulative ms", "self ms"), rows)


def render_table(doc: Mapping[str, Any]) -> str:
    settings, machine = doc.get("settings", {}), doc.get("machine", {})
    primary = doc.get("primary_variant")
    out = [
        f"zappa bench {doc.get('stage')} ({doc.get('function')}): {settings.get('environments')} environments per "
        f"mode, {settings.get('warm_requests')} warm requests each, paths {' '.join(settings.get('paths', []))}",
        f"machine: {machine.get('cpu_model')}, {machine.get('usable_cores')} cores, Python {machine.get('python')}, "
        f"zappa {machine.get('zappa')}, zappa-eager {machine.get('zappa_eager')}",
    ]
    variants = doc.get("variants", {})
    for name in sorted(variants, key=lambda n: n != primary):
        variant = variants[name]
        title = VARIANT_TITLES.get(name, name) + (" (the stage as configured)" if name == primary else "")
        out += ["", title, *modes_table(variant.get("modes", {}))]
        if has_proactive(variant.get("modes", {})):
            out += ["  initialized ahead of traffic with INIT type on-demand (proactive), against the on-demand cold "
                    "start (cold):", *proactive_table(variant.get("modes", {}))]
        out += ["", *packages_table(variant.get("modes", {}))]
        if variant.get("single_package"):
            out.append("  one given package (--zip) for every mode: the upstream modes run it with upstream's "
                       "handler.py swapped in")
        if variant.get("archive_unpack"):
            out += archive_lines(variant["archive_unpack"])
    idle = settings.get("idle_s")
    out += ["", "  medians; INIT and first: a pre-initialized (provisioned) environment, first request after "
            f"{'no idle gap' if not idle else f'an idle gap of {idle:g} s'};",
            "  warm: its next requests, back to back; idle-warm: one more after the same idle gap;",
            "  first/idle-warm: median over environments of each one's first / idle-warm;",
            "  cold: an on-demand environment's first request, INIT included, as the caller waits for it"]
    if any(has_proactive(variant.get("modes", {})) for variant in variants.values()):
        out += ["  proactive: an environment with INIT type on-demand initialized before any request (Lambda's "
                "proactive", "  initialization), then as the pre-initialized one: idle gap, first, warm, idle gap, "
                "idle-warm"]
    burst = doc.get("burst") or {}
    if burst.get("modes"):
        cold = int(burst.get("requests") or 0) - int(burst.get("prewarmed") or 0)
        out += ["", f"burst: {burst.get('requests')} concurrent requests, {burst.get('prewarmed')} pre-initialized "
                    f"environment(s), {VARIANT_TITLES.get(str(burst.get('variant')), burst.get('variant'))}",
                *burst_table(burst),
                f"  up to {cold} cold starts at once on {machine.get('usable_cores')} usable CPUs (Lambda gives each "
                "its own): beyond one per CPU they share them;",
                f"  during the burst: {describe_contention(burst.get('contention'))}"]
    phases = {f"{mode}{'' if name == primary else f' ({name})'}": values
              for name in sorted(variants, key=lambda n: n != primary)
              for mode, values in variants[name].get("init_phases", {}).items()}
    flags = {f"{mode}{'' if name == primary else f' ({name})'}": summary
             for name in sorted(variants, key=lambda n: n != primary)
             for mode, summary in variants[name].get("modes", {}).items()}
    if phases:
        out += ["", "where INIT goes (median ms, from the init report)", *phases_table(phases, flags)]
    imports = doc.get("imports")
    if imports and imports.get("top_cumulative"):
        out += ["", f"top imports by cumulative time (-X importtime, {imports.get('mode')} INIT)",
                *imports_table(imports)]
    elif imports and imports.get("error"):
        out += ["", f"import profile unavailable: {imports['error']}"]
    if imports:
        out += unused_lines(imports)
    out += ["", f"measurements: {describe_contention(doc.get('contention'))}"]
    limits = doc.get("limits") or []
    if limits:
        out += ["", f"{len(limits)} limit(s) hit - measured, not failed (a timed-out request counts at the function "
                    f"timeout of {settings.get('timeout_s')} s: a lower bound):"]
        out += [f"  {limit}" for limit in limits[:MAX_ERRORS]]
        if len(limits) > MAX_ERRORS:
            out.append(f"  ... and {len(limits) - MAX_ERRORS} more in bench.json")
    errors = doc.get("errors") or []
    if errors:
        out += ["", f"{len(errors)} failed request(s) - those figures are not trustworthy:"]
        out += [f"  {error}" for error in errors[:MAX_ERRORS]]
        if len(errors) > MAX_ERRORS:
            out.append(f"  ... and {len(errors) - MAX_ERRORS} more in bench.json")
        if any(entry.get("timeouts") for entry in burst.get("modes", {}).values()):
            out.append(f"  the burst's cold starts share this machine's CPUs (Lambda gives each its own): "
                       f"run again with a smaller --burst than {burst.get('requests')}")
    if doc.get("phases"):
        out += ["", phases_line(doc["phases"])]
    return "\n".join(out)
