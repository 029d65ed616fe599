"""bench.json: every raw figure, plus the medians a reader (or CI) looks for first.

Shape (``SCHEMA``): ``modes`` holds, per mode, the medians ``init_ms``, ``first_ms``,
``warm_ms``, ``idle_warm_ms``, ``cold_ms``, ``max_rss_mb``, the ratios and the ``package``
the mode ran of the primary variant (the stage as configured); ``variants`` the same per
slim_handler variant with its ``packages`` (sizes, bytecode), ``archive_unpack`` and every
environment's raw samples; ``burst`` (with the CPU ``contention`` during it), ``init_phases``,
``imports``, ``machine``, ``contention`` (the whole run), ``settings``, ``errors`` (failures:
the run exits 1), ``limits`` (a baseline's timeouts and INITs cut by the INIT limit: measurements,
not failures) and ``phases`` (seconds per phase of the run). docs/benchmarks.md ("Outputs")
lists every key; schema 3 added ``limits``, ``phases``, the contention keys and ``timed_out``; schema 4
the proactive figures (``proactive_*``), ``boto3_in_init``, ``gc_paused``, the archive split in
``init_phases`` and ``imports.unused_packages``/``unused_modules``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zappa_eager.bench.importtime import ImportRow, top_imports, unused_imports
from zappa_eager.bench.modes import Mode, PackageOrigin
from zappa_eager.bench.records import BurstRequest, EnvSample
from zappa_eager.bench.stats import init_phase_medians, summarize_burst, summarize_modes

SCHEMA = "zappa-eager-bench/4"
TOP_IMPORTS = 15


@dataclass
class VariantResult:
    name: str
    slim: bool
    package: dict[str, Any]  # Variant.describe(): single_package, packages (packaging -> facts)
    samples: list[EnvSample] = field(default_factory=list)
    mode_packaging: dict[Mode, PackageOrigin] = field(default_factory=dict)  # mode -> its key in package["packages"]
    archive_unpack: dict[str, Any] | None = None  # compare_unpack on the eager package's tarball


def mode_package(facts: Mapping[str, Any] | None, packaging: str | None) -> dict[str, Any] | None:
    """What a mode's table row shows of its package: sizes, files and the bytecode state."""
    if not facts:
        return None
    bytecode = facts.get("bytecode") or {}
    return {"packaging": packaging, "zipped_bytes": facts.get("zipped_bytes"),
            "unzipped_bytes": facts.get("unzipped_bytes"), "files": facts.get("files"),
            "bytecode": bytecode.get("state")}


@dataclass
class ImportProfile:
    variant: str
    mode: Mode
    rows: list[ImportRow] = field(default_factory=list)
    error: str | None = None
    used: list[str] | None = None  # modules whose code the profiled requests ran; None: not recorded
    native: list[str] = field(default_factory=list)  # modules with no Python code to see run
    requests: int = 0
    request_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """bench.json's ``imports``: the top imports, and INIT's imports the first requests never ran."""
        every = None if self.used is None else unused_imports(self.rows, self.used, self.native, count=len(self.rows))
        unused = None if every is None else every[:TOP_IMPORTS]
        unused_sub = None if self.used is None else unused_imports(
            self.rows, self.used, self.native, level=2, skip=[item.module for item in every or []],
            count=TOP_IMPORTS)
        return {
            "variant": self.variant,
            "mode": self.mode,
            "error": self.error,
            "modules": len(self.rows),
            "top_cumulative": [r.as_dict() for r in top_imports(self.rows, TOP_IMPORTS, "cumulative")],
            "top_self": [r.as_dict() for r in top_imports(self.rows, TOP_IMPORTS, "self")],
            "requests": self.requests,
            "request_errors": list(self.request_errors),
            "used_modules": None if self.used is None else len(self.used),
            "unused_packages": None if unused is None else [item.as_dict() for item in unused],
            "unused_modules": None if unused_sub is None else [item.as_dict() for item in unused_sub],
        }


def rounded(value: Any, digits: int = 2) -> Any:
    """Floats rounded for reading; structure unchanged."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, Mapping):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item, digits) for item in value]
    return value


def _errors(variants: Sequence[VariantResult], burst: Mapping[Mode, Sequence[BurstRequest]]) -> list[str]:
    found = [f"{s.variant} {s.mode} env {s.round}: {error}" for v in variants for s in v.samples for error in s.errors]
    found += [f"{v.name} archive unpack: {v.archive_unpack['error']}" for v in variants
              if v.archive_unpack and v.archive_unpack.get("error")]
    found += [f"burst {r.mode} {r.env}: {r.error}" for requests in burst.values() for r in requests if r.failed]
    return found


def _limits(variants: Sequence[VariantResult], burst: Mapping[Mode, Sequence[BurstRequest]]) -> list[str]:
    """Limits hit that are measurements (a baseline's timeouts, INITs cut by the INIT limit): shown, not failed."""
    found = [f"{s.variant} {s.mode} env {s.round}: {limit}" for v in variants for s in v.samples for limit in s.limits]
    for requests in burst.values():
        for r in requests:
            if r.timed_out and not r.failed:
                found.append(f"burst {r.mode} {r.env}: timed out (the function timeout)")
            elif r.init_limit and not r.failed:
                found.append(f"burst {r.mode} {r.env}: its on-demand INIT hit the INIT limit and ran again")
    return found


def build_document(*, stage: str, function: str, modes: Sequence[Mode], variants: Sequence[VariantResult],
                   primary: str, burst: Mapping[Mode, Sequence[BurstRequest]], burst_variant: str | None,
                   imports: ImportProfile | None, machine: Mapping[str, Any], settings: Mapping[str, Any],
                   contention: Mapping[str, Any] | None = None, burst_contention: Mapping[str, Any] | None = None,
                   phases: Mapping[str, float] | None = None) -> dict[str, Any]:
    per_variant: dict[str, Any] = {}
    for variant in variants:
        packages = dict(variant.package.get("packages") or {})
        summaries = summarize_modes(variant.samples, modes)
        for mode, summary in summaries.items():
            packaging = variant.mode_packaging.get(mode)
            summary["package"] = mode_package(packages.get(packaging) if packaging else None, packaging)
        per_variant[variant.name] = {
            "slim_handler": variant.slim,
            "single_package": bool(variant.package.get("single_package")),
            "packages": packages,
            "modes": summaries,
            "init_phases": init_phase_medians(variant.samples, modes),
            "archive_unpack": variant.archive_unpack,
            "environments": [sample.as_dict() for sample in variant.samples],
        }
    main = per_variant.get(primary, {"modes": {}, "init_phases": {}})
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "stage": stage,
        "function": function,
        "primary_variant": primary,
        "modes": main["modes"],
        "variants": per_variant,
        "burst": {
            "variant": burst_variant,
            "requests": settings.get("burst_requests"),
            "prewarmed": settings.get("burst_prewarmed"),
            "modes": {mode: {**summarize_burst(requests), "samples": [asdict(r) for r in requests]}
                      for mode, requests in burst.items()},
            "contention": dict(burst_contention) if burst_contention else None,
        },
        "init_phases": main["init_phases"],
        "imports": None if imports is None else imports.as_dict(),
        "machine": dict(machine),
        "contention": dict(contention) if contention else None,
        "settings": dict(settings),
        "errors": _errors(variants, burst),
        "limits": _limits(variants, burst),
        "phases": dict(phases or {}),
    }
    result: dict[str, Any] = rounded(document)
    return result


def write_document(document: Mapping[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
