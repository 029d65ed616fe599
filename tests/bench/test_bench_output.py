"""bench.json shape, the terminal table and the chart, from given samples (no emulator)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zappa_eager.bench.document import SCHEMA, ImportProfile, VariantResult, build_document, rounded, write_document
from zappa_eager.bench.importtime import ImportRow
from zappa_eager.bench.modes import MODES
from zappa_eager.bench.records import BurstRequest, EnvSample, RequestSample
from zappa_eager.bench.table import fmt_ms, fmt_ratio, render_table

FIRST = {"upstream": 600.0, "upstream-env": 12.0, "eager": 9.0, "eager+warmup": 5.0, "floor": 60.0}
INIT = {"upstream": 550.0, "upstream-env": 1100.0, "eager": 1050.0, "eager+warmup": 1060.0, "floor": 700.0}
MB = 1024 * 1024


def facts(zipped_mb: float, unzipped_mb: float, files: int, state: str) -> dict[str, Any]:
    """PackageFacts.as_dict() of a package."""
    return {"zipped_bytes": int(zipped_mb * MB), "unzipped_bytes": int(unzipped_mb * MB), "files": files,
            "bytecode": {"state": state, "tag": "cpython-311", "modules": 10, "valid": 10 if state == "valid" else 0,
                         "stale": 0 if state == "valid" else 10, "missing": 0, "unchecked": 8, "examples": []}}


PACKAGES = {"upstream": {"packaging": "upstream", **facts(40.0, 120.0, 9000, "stale")},
            "eager": {"packaging": "eager", **facts(30.0, 100.0, 8000, "valid")}}
MODE_PACKAGING = {"upstream": "upstream", "upstream-env": "upstream", "eager": "eager", "eager+warmup": "eager",
                  "floor": "eager"}
UNPACK = {"files": 12000, "archive_bytes": 40 * MB, "unpacked_bytes": 150 * MB, "runs": 3,
          "upstream_ms": [9000.0, 8000.0, 8500.0], "eager_ms": [3000.0, 2500.0, 2800.0], "upstream_median_ms": 8500.0,
          "eager_median_ms": 2800.0, "speedup": 8500.0 / 2800.0, "upstream_archive_files": 13500}


def env_sample(mode: str, variant: str, round_: int) -> EnvSample:
    eager = mode.startswith("eager")
    report = {"imports_ms": 500.0, "settings_ms": 0.3, "remote_env_ms": 0.0, "archive_ms": 0.0, "app_ms": 520.0,
              "warmup_ms": 5.0 if mode == "eager+warmup" else 0.0, "total_ms": 1025.0} if eager else None
    t = round_ * 10.0
    requests = [RequestSample(t, FIRST[mode] + round_, FIRST[mode], "first", "/", "env-1", 200)]
    requests += [RequestSample(t + 0.1 * i, 1.0 + i / 10, 0.9, "warm", "/", "env-1", 200) for i in range(3)]
    requests.append(RequestSample(t + 0.5, 2.0 * round_, 1.5, "idle-warm", "/", "env-1", 200))
    requests.append(RequestSample(t + 1.0, 1100.0 + round_, 8.0, "cold", "/", "env-2", 200))
    return EnvSample(mode=mode, variant=variant, round=round_, init_ms=INIT[mode] + round_,
                     first_ms=FIRST[mode] + round_, warm_ms=[1.0, 1.1, 1.2], warm_median_ms=1.1,
                     idle_warm_ms=2.0 * round_, max_rss_mb=63.0, cold_ms=1100.0 + round_, cold_init_ms=1090.0,
                     cold_rss_mb=63.0, init_report=report, requests=requests)


def make_document(*, errors: bool = False, burst_timeout: str | None = None,
                  unpack: dict[str, Any] | None = UNPACK) -> dict[str, Any]:
    variants = []
    for name, slim in (("slim_off", False), ("slim_on", True)):
        samples = [env_sample(mode, name, r) for r in (1, 2, 3) for mode in MODES]
        package = {"slim_handler": slim, "single_package": False, "packages": PACKAGES}
        variants.append(VariantResult(name, slim, package, samples, dict(MODE_PACKAGING),
                                      dict(unpack) if slim and unpack else None))
    if errors:
        variants[0].samples[0].errors.append("first /: HTTP 500")
    burst = {mode: [BurstRequest(mode, 0.0, FIRST[mode], "env-1", False, True, 200)]
             + [BurstRequest(mode, 0.5 * i, 3000.0 + i, f"env-{i + 2}", True, False, 200) for i in range(5)]
             for mode in MODES}
    if burst_timeout:
        burst[burst_timeout][-1] = BurstRequest(burst_timeout, 2.5, 30000.0, "env-7", True, False, None,
                                                "Sandbox.Timedout: Task timed out after 30.00 seconds", timed_out=True)
    rows = [ImportRow("handler", 25000, 1_000_000, 0), ImportRow("django", 2000, 300_000, 1)]
    settings = {"environments": 3, "warm_requests": 3, "paths": ["/"], "burst_requests": 6, "burst_prewarmed": 1,
                "idle_s": 0.5}
    machine = {"cpu_model": "Test CPU", "cores": 2, "usable_cores": 2, "python": "3.11.7", "zappa": "0.63.0",
               "zappa_eager": "0.1.0"}
    return build_document(stage="dev", function="djsite-dev", modes=MODES, variants=variants, primary="slim_off",
                          burst=burst, burst_variant="slim_off", imports=ImportProfile("slim_off", "eager", rows),
                          machine=machine, settings=settings)


def test_document_shape_has_every_mode_with_numeric_medians(tmp_path: Path) -> None:
    doc = json.loads(write_document(make_document(), tmp_path / "out" / "bench.json").read_text())
    assert doc["schema"] == SCHEMA and doc["primary_variant"] == "slim_off"
    assert list(doc["modes"]) == list(MODES)
    for mode in MODES:
        for figure in ("init_ms", "first_ms", "cold_ms", "warm_ms", "idle_warm_ms", "max_rss_mb",
                       "first_over_idle_warm"):
            assert isinstance(doc["modes"][mode][figure], (int, float)), (mode, figure)
    assert doc["modes"]["eager"]["first_ms"] == 11.0  # median of 10, 11, 12
    assert doc["modes"]["eager"]["idle_warm_ms"] == 4.0  # median of 2, 4, 6
    # per environment 10/2, 11/4, 12/6: the median of those ratios, not 11/4 (the ratio of the medians)
    assert doc["modes"]["eager"]["first_over_idle_warm"] == 2.75 and doc["modes"]["eager"]["first_over_warm"] == 10.0
    assert doc["modes"]["eager"]["spread"]["first_over_idle_warm"] == [2.0, 5.0]
    assert doc["modes"]["upstream"]["package"] == {"packaging": "upstream", "zipped_bytes": 40 * MB,
                                                   "unzipped_bytes": 120 * MB, "files": 9000, "bytecode": "stale"}
    assert doc["modes"]["eager+warmup"]["package"]["bytecode"] == "valid"
    assert doc["variants"]["slim_on"]["packages"]["eager"]["bytecode"]["valid"] == 10
    assert doc["variants"]["slim_on"]["archive_unpack"]["speedup"] == 3.04
    assert doc["variants"]["slim_off"]["archive_unpack"] is None
    assert doc["variants"]["slim_off"]["single_package"] is False
    assert doc["settings"]["idle_s"] == 0.5
    assert doc["modes"]["upstream"]["spread"]["first_ms"] == [601.0, 603.0]
    assert set(doc["variants"]) == {"slim_off", "slim_on"}
    assert doc["variants"]["slim_on"]["slim_handler"] is True
    assert len(doc["variants"]["slim_off"]["environments"]) == 12
    assert doc["variants"]["slim_off"]["environments"][0]["requests"][0]["kind"] == "first"
    assert set(doc["init_phases"]) == {"eager", "eager+warmup"}
    assert doc["burst"]["modes"]["eager"]["cold_starts"] == 5 and len(doc["burst"]["modes"]["eager"]["samples"]) == 6
    assert doc["imports"]["top_cumulative"][0]["module"] == "handler"
    assert doc["machine"]["cpu_model"] == "Test CPU" and doc["settings"]["environments"] == 3
    assert doc["errors"] == []


def test_errors_are_listed_with_where_they_happened() -> None:
    doc = make_document(errors=True)
    assert doc["errors"] == ["slim_off upstream env 1: first /: HTTP 500"]
    assert doc["modes"]["upstream"]["errors"] == 1


def test_rounded_keeps_structure() -> None:
    assert rounded({"a": [1.23456, {"b": 2.0001}], "c": "x", "d": None, "e": 3}) == \
        {"a": [1.23, {"b": 2.0}], "c": "x", "d": None, "e": 3}


@pytest.mark.parametrize(("value", "text"), [(None, "-"), (1.234, "1.2"), (99.94, "99.9"), (1234.5, "1234"),
                                             (100.0, "100")])
def test_fmt_ms(value: float | None, text: str) -> None:
    assert fmt_ms(value) == text


def test_fmt_ratio() -> None:
    assert (fmt_ratio(None), fmt_ratio(1.0), fmt_ratio(511.7)) == ("-", "1.00x", "511.7x")


def test_table_shows_each_variant_mode_burst_phases_and_imports() -> None:
    text = render_table(make_document())
    lines = text.splitlines()
    assert lines[0].startswith("zappa bench dev (djsite-dev): 3 environments per mode, 3 warm requests each")
    assert "slim_handler off (the stage as configured)" in text and "slim_handler on" in text
    assert text.index("slim_handler off") < text.index("slim_handler on")
    upstream = next(line for line in lines if line.strip().startswith("upstream "))
    assert upstream.split() == ["upstream", "552", "602", "1.1", "4.0", "1102", "547.3x", "150.5x", "1.00x", "63.0"]
    header = next(line for line in lines if "first/warm" in line)
    assert header.split()[:4] == ["mode", "INIT", "ms", "first"] and "first/idle-warm" in header.split()
    assert "first request after an idle gap of 0.5 s" in text
    package_rows = [line.split() for line in lines if line.strip().startswith(("upstream-env ", "eager "))
                    and len(line.split()) == 6]
    assert ["upstream-env", "upstream", "40.0", "120.0", "9000", "stale"] in package_rows
    assert ["eager", "eager", "30.0", "100.0", "8000", "valid"] in package_rows
    archive = [line for line in lines if "archive phase" in line]
    assert len(archive) == 1 and text.index(archive[0]) > text.index("slim_handler on")
    assert archive[0].strip().startswith("archive phase: upstream unpack 8500 ms, zappa-eager 2800 ms, 3.04x, "
                                         "12000 files (150.0 MB)")
    assert "upstream's own tarball: 13500 files" in lines[lines.index(archive[0]) + 1]
    assert "burst: 6 concurrent requests, 1 pre-initialized environment(s)" in text
    assert "where INIT goes" in text and "top imports by cumulative time" in text
    assert any(line.split()[:2] == ["handler", "1000"] for line in lines)
    assert "failed request" not in text


def test_a_failed_archive_comparison_is_an_error_and_says_why() -> None:
    doc = make_document(unpack={"error": "RuntimeError: moto server did not start", "upstream_archive_files": None})
    assert doc["errors"] == ["slim_on archive unpack: RuntimeError: moto server did not start"]
    assert "archive phase: not measured (RuntimeError: moto server did not start)" in render_table(doc)


def test_table_warns_about_failed_requests() -> None:
    text = render_table(make_document(errors=True))
    assert "1 failed request(s)" in text
    assert "smaller --burst" not in text


@pytest.mark.parametrize("mode", ["upstream", "upstream-env"])
def test_a_baseline_burst_timeout_is_a_measurement_not_an_error(mode: str) -> None:
    doc = make_document(burst_timeout=mode)
    assert doc["errors"] == []
    assert doc["limits"] == [f"burst {mode} env-7: timed out (the function timeout)"]
    assert doc["burst"]["modes"][mode]["timeouts"] == 1 and doc["burst"]["modes"][mode]["errors"] == 0
    text = render_table(doc)
    assert "1 limit(s) hit - measured, not failed" in text and "failed request" not in text
    burst_row = next(line for line in text.split("burst:")[1].splitlines() if line.split()[:1] == [mode])
    assert burst_row.split()[-2:] == ["1", "0"]  # timed out 1, errors 0


@pytest.mark.parametrize("mode", ["eager", "eager+warmup"])
def test_an_eager_burst_timeout_is_an_error_and_suggests_a_smaller_burst(mode: str) -> None:
    doc = make_document(burst_timeout=mode)
    assert doc["errors"] == [f"burst {mode} env-7: Sandbox.Timedout: Task timed out after 30.00 seconds"]
    assert doc["limits"] == []
    assert doc["burst"]["modes"][mode]["timeouts"] == 1 and doc["burst"]["modes"][mode]["errors"] == 1
    assert "run again with a smaller --burst than 6" in render_table(doc)


def test_chart_is_a_png(tmp_path: Path) -> None:
    from zappa_eager.bench.chart import draw_chart

    path = draw_chart(make_document(), tmp_path / "bench.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000


def test_chart_copes_with_missing_parts(tmp_path: Path) -> None:
    from zappa_eager.bench.chart import draw_chart

    doc = make_document()
    doc["burst"] = {"modes": {}}
    doc["imports"] = {"error": "no import profile", "top_cumulative": []}
    doc["init_phases"] = {}
    assert draw_chart(doc, tmp_path / "bench.png").exists()


def test_the_floor_mode_is_a_row_of_its_own_without_init_phases() -> None:
    """``--modes ...,floor``: measured like the others, no init report (it runs no zappa-eager)."""
    modes = ("upstream", "floor", "eager")
    samples = [env_sample(mode, "slim_off", r) for r in (1, 2, 3) for mode in modes]
    package = {"slim_handler": False, "single_package": False, "packages": PACKAGES}
    variants = [VariantResult("slim_off", False, package, samples, {m: MODE_PACKAGING[m] for m in modes}, None)]
    doc = build_document(stage="dev", function="djsite-dev", modes=modes, variants=variants, primary="slim_off",
                         burst={}, burst_variant="slim_off", imports=None,
                         machine={"cpu_model": "Test CPU", "cores": 2, "usable_cores": 2, "python": "3.11.7",
                                  "zappa": "0.63.0", "zappa_eager": "0.1.0"},
                         settings={"environments": 3, "warm_requests": 3, "paths": ["/"], "burst_requests": 0,
                                   "burst_prewarmed": 0, "idle_s": 0.5})
    assert list(doc["modes"]) == list(modes) and doc["modes"]["floor"]["first_ms"] == 62.0
    assert doc["modes"]["floor"]["package"]["packaging"] == "eager"
    assert set(doc["init_phases"]) == {"eager"}
    floor_row = next(line for line in render_table(doc).splitlines() if line.strip().startswith("floor "))
    assert "62.0" in floor_row and "1.00x" in floor_row  # its cold start over upstream's (the same here)
