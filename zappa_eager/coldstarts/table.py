"""The terminal summary, rendered from the coldstarts.json document (so both always agree)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zappa_eager.bench.table import fmt_ms, fmt_ratio, grid
from zappa_eager.runtime.report import PHASES


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _label(version: Mapping[str, Any]) -> str:
    aliases = f" ({', '.join(version['aliases'])})" if version.get("aliases") else ""
    return f"{version['version']}{aliases}{' eager' if version['zappa_eager'] else ''}"


def versions_table(versions: list[Mapping[str, Any]]) -> list[str]:
    headers = ("version", "invocations", "cold", "rate", "INIT p50", "p95", "p99", "max", "cold req p50", "p95",
               "p99", "warm p50", "p95", "restores", "timeouts", "init errors")
    rows = []
    for v in versions:
        init, cold, warm = v["init_ms"], v["cold_request_ms"], v["warm_ms"]
        rows.append((_label(v), str(v["invocations"]), str(v["cold_starts"]), _rate(v["cold_start_rate"]),
                     fmt_ms(init["p50"]), fmt_ms(init["p95"]), fmt_ms(init["p99"]), fmt_ms(init["max"]),
                     fmt_ms(cold["p50"]), fmt_ms(cold["p95"]), fmt_ms(cold["p99"]), fmt_ms(warm["p50"]),
                     fmt_ms(warm["p95"]), str(v["restores"]), str(v["timeouts"]), str(v["init_errors"])))
    lines = grid(headers, rows)
    for v in versions:
        if v.get("suppressed_inits"):
            lines.append(f"  version {v['version']}: {v['suppressed_inits']} of its cold starts waited for an INIT cut "
                         "at the init limit and run again inside the request")
    return lines


def eager_lines(versions: list[Mapping[str, Any]]) -> list[str]:
    eager = [v for v in versions if v["zappa_eager"]]
    if not eager:
        return []
    names = (*PHASES, "total")
    rows = [(v["version"], *(fmt_ms((v["phases_ms"] or {}).get(name)) for name in names)) for v in eager]
    lines = ["", "zappa-eager INIT phases (median ms, from the init reports):", *grid(("version", *names), rows)]
    for v in eager:
        types = ", ".join(f"{kind} {count}" for kind, count in (v["inits_by_type"] or {}).items())
        lines.append(f"  version {v['version']}: INITs by type: {types or '-'}")
        stages = v.get("archive_stages_ms")
        if stages:
            split = ", ".join(f"{stage} {fmt_ms(ms)}" for stage, ms in stages.items())
            lines.append(f"    archive (median ms of {v.get('archive_unpacks') or 0} unpacks, each stage's own busy "
                         f"time; they overlap): {split}")
        outcomes = v.get("warmup") or {}
        if outcomes:
            lines.append("    warm-up (last round): " + ", ".join(f"{k} x{n}" for k, n in outcomes.items()))
    return lines


def compare_lines(compare: Mapping[str, Any] | None) -> list[str]:
    if not compare:
        return []
    if compare.get("error"):
        return ["", f"before/after {compare['before']} -> {compare['after']}: {compare['error']}"]
    kind = "as named" if compare.get("named") else "upstream -> zappa-eager"
    lines = ["", f"before/after, version {compare['before']} -> {compare['after']} ({kind}):"]
    for key, label in (("cold_request_p50", "cold request p50"), ("cold_request_p95", "cold request p95"),
                       ("warm_p95", "warm p95")):
        figure = compare.get(key)
        if not figure:
            continue
        if figure["ratio"] is None:
            lines.append(f"  {label}: not enough requests")
            continue
        change = (f"{fmt_ratio(figure['speedup'])} faster" if figure["speedup"] >= 1
                  else f"{fmt_ratio(figure['ratio'])} slower")
        lines.append(f"  {label}: {fmt_ms(figure['before'])} -> {fmt_ms(figure['after'])} ms "
                     f"({fmt_ratio(figure['ratio'])} the time, {change})")
    return lines


def render_table(doc: Mapping[str, Any]) -> str:
    window = doc["window"]
    out = [f"zappa coldstarts {doc['stage']} ({doc['function']}, {doc['region']}): {doc['log_group']}, "
           f"{window['start']} to {window['end']}, {doc['lines_read']:,} lines via {doc['source']}",
           "cold = the caller waited for an INIT (Init Duration); cold req = INIT + that request's Duration; ms",
           *versions_table(doc["versions"]), *eager_lines(doc["versions"]), *compare_lines(doc.get("compare"))]
    for note in doc.get("notes") or []:
        out.append(f"note: {note}")
    return "\n".join(out)
