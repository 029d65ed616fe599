"""coldstarts.json: per version, every figure of the table, exact; versioned like bench.json.

Shape (``SCHEMA``, docs/coldstarts.md lists every key): ``versions`` (a list, oldest first),
each with ``version``, ``aliases``, ``zappa_eager``, ``invocations``, ``cold_starts``,
``cold_start_rate``, ``restores``, ``timeouts``, ``errors``, ``init_errors``, ``init_ms``,
``restore_ms``, ``cold_request_ms`` (with ``by_init_type``) and ``warm_ms`` (``count``,
``p50``, ``p95``, ``p99``, ``max``), ``inits_by_type``, ``phases_ms``, ``archive_stages_ms``,
``archive_unpacks`` and ``warmup``; and
``compare``, the before/after ratio of the cold-request p50 and p95. Fields are only ever
added within a schema version. Figures are not rounded: they are exactly what ``statistics``
computes on the logged values.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zappa_eager.coldstarts.aggregate import Aggregator, VersionStats
from zappa_eager.coldstarts.options import ColdstartsOptions, iso
from zappa_eager.coldstarts.stage import StageTarget

SCHEMA = "zappa-eager-coldstarts/1"
PERCENTILE_DEFINITION = ('p50 = statistics.median(values); pNN = statistics.quantiles(values, n=100, '
                         'method="inclusive")[NN-1] (a single value is its own percentile), exactly, on every '
                         'matching line of the window')


def version_key(version: str) -> tuple[int, int, str]:
    """Numbered versions in order, then ``$LATEST``, then anything else."""
    if version.isdigit():
        return (0, int(version), version)
    return (1 if version == "$LATEST" else 2, 0, version)


def version_entry(stats: VersionStats, aliases: Sequence[str]) -> dict[str, Any]:
    return {
        "version": stats.version,
        "aliases": list(aliases),
        "zappa_eager": stats.zappa_eager,
        "invocations": stats.invocations,
        "cold_starts": stats.cold_starts,
        "restores": stats.restores,
        "cold_start_rate": (stats.cold_starts + stats.restores) / stats.invocations if stats.invocations else None,
        "timeouts": stats.timeouts,
        "errors": stats.errors,
        "init_errors": stats.init_errors,
        "suppressed_inits": stats.suppressed_inits,
        "init_ms": stats.init.summary(),
        "restore_ms": stats.restore.summary(),
        "cold_request_ms": {**stats.cold_request.summary(), "by_init_type": {
            kind: dist.summary() for kind, dist in sorted(stats.cold_request_by_type.items())}},
        "warm_ms": stats.warm.summary(),
        "inits_by_type": dict(sorted(stats.eager_inits.items())) if stats.zappa_eager else None,
        "init_reports": dict(sorted(stats.eager_events.items())) if stats.zappa_eager else None,
        "failed_init_reports": stats.eager_failed if stats.zappa_eager else None,
        "phases_ms": stats.phase_medians(),
        "archive_stages_ms": stats.archive_stage_medians(),
        "archive_unpacks": stats.archive_unpacks if stats.zappa_eager else None,
        "warmup": dict(sorted(stats.warmup.items())) if stats.zappa_eager else None,
    }


def pick_pair(versions: Sequence[Mapping[str, Any]], named: tuple[str, str] | None) -> tuple[str, str] | None:
    """``--compare``, else the newest version with cold starts without zappa-eager against the newest with it."""
    if named:
        return named
    cold = [v for v in versions if v["cold_request_ms"]["count"]]
    before = [v["version"] for v in cold if not v["zappa_eager"]]
    after = [v["version"] for v in cold if v["zappa_eager"]]
    return (before[-1], after[-1]) if before and after else None


def ratio(after: float | None, before: float | None) -> float | None:
    return after / before if after is not None and before else None


def comparison(versions: Sequence[Mapping[str, Any]], named: tuple[str, str] | None) -> dict[str, Any] | None:
    pair = pick_pair(versions, named)
    if pair is None:
        return None
    by_version = {v["version"]: v for v in versions}
    missing = [name for name in pair if name not in by_version]
    if missing:
        return {"before": pair[0], "after": pair[1], "error": f"no REPORT lines for version(s) {', '.join(missing)} "
                f"in the window (seen: {', '.join(by_version) or 'none'})"}
    before, after = by_version[pair[0]], by_version[pair[1]]
    result: dict[str, Any] = {"before": pair[0], "after": pair[1], "named": named is not None,
                              "before_zappa_eager": before["zappa_eager"], "after_zappa_eager": after["zappa_eager"]}
    for q in ("p50", "p95"):
        b, a = before["cold_request_ms"][q], after["cold_request_ms"][q]
        result[f"cold_request_{q}"] = {"before": b, "after": a, "ratio": ratio(a, b), "speedup": ratio(b, a)}
    # Warm p95 holds the first request of pre-initialized environments: upstream builds the app there.
    b, a = before["warm_ms"]["p95"], after["warm_ms"]["p95"]
    result["warm_p95"] = {"before": b, "after": a, "ratio": ratio(a, b), "speedup": ratio(b, a)}
    return result


def build_document(target: StageTarget, options: ColdstartsOptions, aggregator: Aggregator, *, source: str,
                   notes: Sequence[str] = ()) -> dict[str, Any]:
    ordered = sorted(aggregator.versions.values(), key=lambda s: version_key(s.version))
    versions = [version_entry(s, target.aliases.get(s.version, [])) for s in ordered]
    return {
        "schema": SCHEMA,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "stage": target.stage,
        "function": target.function,
        "region": target.region,
        "log_group": target.log_group,
        "window": {"start": iso(options.window.start_ms), "end": iso(options.window.end_ms),
                   "since": options.since, "until": options.until},
        "source": source,
        "lines_read": aggregator.lines,
        "percentiles": PERCENTILE_DEFINITION,
        "versions": versions,
        "compare": comparison(versions, options.compare),
        "notes": [*target.notes, *notes],
    }


def write_document(document: Mapping[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
