"""The proactive pattern, the eager+warmup[<value>] modes, the init-report flags and INIT's unused imports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.bench.test_bench_variants import load_cli
from zappa_eager.bench.document import ImportProfile
from zappa_eager.bench.function import FunctionSpec
from zappa_eager.bench.importtime import (
    ImportRow,
    handler_subtree,
    parse_importtime,
    parse_used,
    profile_imports,
    unused_imports,
)
from zappa_eager.bench.modes import (
    MODES,
    is_baseline,
    mode_spec,
    packagings_for,
    parse_warmup_on_demand,
    warmup_mode,
    with_warmup_modes,
)
from zappa_eager.bench.options import parse_options
from zappa_eager.bench.records import EnvSample
from zappa_eager.bench.stats import MIXED, init_phase_medians, report_flag, summarize_modes
from zappa_eager.bench.table import phases_table, proactive_table, render_table, unused_lines
from zappa_eager.bench.variants import render_settings, settings_value, task_root_name, warmup_requests
from zappa_eager.runtime.contract import WARMUP_ON_DEMAND_CHOICES

# -- eager+warmup[<value>] modes -------------------------------------------------------------


def test_warmup_on_demand_values_add_one_mode_each_after_the_chosen_modes() -> None:
    assert parse_warmup_on_demand(["full,skip", " once"]) == WARMUP_ON_DEMAND_CHOICES
    assert parse_warmup_on_demand(None) == ()
    assert with_warmup_modes(("eager", "eager+warmup"), ("skip", "once")) == (
        "eager", "eager+warmup", "eager+warmup[skip]", "eager+warmup[once]")
    with pytest.raises(ValueError, match="unknown eager_init_warmup_on_demand value"):
        parse_warmup_on_demand(["sometimes"])
    with pytest.raises(ValueError):
        warmup_mode("sometimes")


def test_a_warmup_mode_is_eager_warmup_with_its_own_on_demand_value() -> None:
    spec = mode_spec("eager+warmup[full]")
    assert spec.eager and spec.warmup and spec.warmup_on_demand == "full" and spec.packaging == "eager"
    assert mode_spec("eager+warmup").warmup_on_demand is None  # the stage's own value
    assert not is_baseline("eager+warmup[once]") and is_baseline("upstream")
    assert packagings_for(["eager+warmup[once]"]) == ("eager",)
    for bad in ("eager+warmup[sometimes]", "eager[once]", "warmup"):
        with pytest.raises(KeyError):
            mode_spec(bad)
    assert task_root_name("eager+warmup[once]") == "eager-warmup-once" and task_root_name("eager") == "eager"


def test_options_add_the_warmup_modes_and_can_skip_the_proactive_pattern() -> None:
    options = parse_options(["dev", "--modes", "upstream,eager", "--warmup-on-demand", "once,full"])
    assert options.modes == ("upstream", "eager", "eager+warmup[once]", "eager+warmup[full]")
    assert options.warmup_on_demand == ("once", "full") and options.proactive
    assert parse_options(["dev"]).modes == MODES and parse_options(["dev"]).warmup_on_demand == ()
    assert not parse_options(["dev", "--no-proactive"]).proactive


def test_a_bad_warmup_on_demand_value_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_options(["dev", "--warmup-on-demand", "twice"])
    assert exited.value.code == 2 and "unknown eager_init_warmup_on_demand value(s) twice" in capsys.readouterr().err


@pytest.mark.parametrize("stage_value", [None, "full"])
def test_each_warmup_mode_renders_its_value_whatever_the_stage_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    stage_value: str | None) -> None:
    extra = {} if stage_value is None else {"eager_init_warmup_on_demand": stage_value}
    cli = load_cli(tmp_path, monkeypatch, eager_init_warmup=["/healthz"], **extra)
    warmup = warmup_requests(cli, ["/"])
    for value in WARMUP_ON_DEMAND_CHOICES:
        text = render_settings(cli, False, mode_spec(warmup_mode(value)), warmup)
        assert settings_value(text, "EAGER_INIT_WARMUP_ON_DEMAND") == value
        assert [w["path"] for w in settings_value(text, "EAGER_INIT_WARMUP")] == ["/healthz", "/"]
    stage = render_settings(cli, False, mode_spec("eager+warmup"), warmup)
    assert settings_value(stage, "EAGER_INIT_WARMUP_ON_DEMAND") == cli.eager.warmup_on_demand
    assert cli.eager.warmup_on_demand == (stage_value or cli.eager.warmup_on_demand)  # restored


# -- summaries and the table ------------------------------------------------------------------


def sample(mode: str, round_: int, *, report: dict[str, Any] | None = None, proactive: bool = True) -> EnvSample:
    env = EnvSample(mode=mode, variant="slim_on", round=round_, init_ms=1000.0, first_ms=6.0, warm_median_ms=4.0,
                    idle_warm_ms=5.0, cold_ms=1200.0, init_report=report)
    if proactive:
        env.proactive_init_ms, env.proactive_first_ms = 900.0 + round_, 10.0 * round_
        env.proactive_idle_warm_ms, env.proactive_warm_median_ms = 5.0, 4.0
        env.proactive_init_report = report
    return env


def test_proactive_figures_are_medians_with_a_paired_first_over_idle_warm() -> None:
    samples = [sample("eager", r) for r in (1, 2, 3)] + [sample("upstream", 1, proactive=False)]
    summary = summarize_modes(samples, ("upstream", "eager"))
    eager = summary["eager"]
    assert eager["proactive_init_ms"] == 902.0 and eager["proactive_first_ms"] == 20.0
    assert eager["proactive_idle_warm_ms"] == 5.0 and eager["proactive_warm_ms"] == 4.0
    assert eager["proactive_first_over_idle_warm"] == 4.0  # median of 2, 4, 6
    assert eager["spread"]["proactive_first_over_idle_warm"] == [2.0, 6.0]
    assert summary["upstream"]["proactive_first_ms"] is None
    assert summary["upstream"]["proactive_first_over_idle_warm"] is None


def test_report_flags_agree_mix_or_are_absent() -> None:
    assert report_flag([{"gc_paused": True}, {"gc_paused": True}], "gc_paused") is True
    assert report_flag([{"boto3_in_init": False}], "boto3_in_init") is False
    assert report_flag([{"boto3_in_init": False}, {"boto3_in_init": True}], "boto3_in_init") == MIXED
    assert report_flag([{"total_ms": 1.0}], "gc_paused") is None  # an older report
    assert report_flag([], "gc_paused") is None


REPORT = {"imports_ms": 100.0, "settings_ms": 0.1, "remote_env_ms": 0.0, "archive_ms": 300.0, "app_ms": 200.0,
          "warmup_ms": 0.0, "total_ms": 600.0, "boto3_in_init": False, "gc_paused": True}
SPLIT = {"archive_download_ms": 50.0, "archive_inflate_ms": 200.0, "archive_write_ms": 50.0}


def test_where_init_goes_shows_the_archive_split_and_the_flags_when_reports_have_them() -> None:
    samples = [sample("eager", 1, report={**REPORT, **SPLIT}), sample("eager+warmup[once]", 1, report=REPORT)]
    modes = ("eager", "eager+warmup[once]")
    phases = init_phase_medians(samples, modes)
    assert phases["eager"]["archive_inflate"] == 200.0 and "archive_inflate" not in phases["eager+warmup[once]"]
    summaries = summarize_modes(samples, modes)
    assert summaries["eager"]["boto3_in_init"] is False and summaries["eager"]["gc_paused"] is True
    lines = phases_table(phases, summaries)
    assert "archive download  archive inflate  archive write  total" in lines[0]
    assert "archive download" in lines[0] and "boto3 in INIT" in lines[0] and "GC paused" in lines[0]
    eager_row = next(line for line in lines if line.split()[0] == "eager")
    assert eager_row.split()[-6:] == ["50.0", "200", "50.0", "600", "no", "yes"]
    once_row = next(line for line in lines if line.split()[0] == "eager+warmup[once]")
    assert once_row.split()[-6:-3] == ["-", "-", "-"]  # no split in its reports


def test_older_reports_show_no_flag_columns_and_no_split() -> None:
    old = {key: value for key, value in REPORT.items() if key not in ("boto3_in_init", "gc_paused")}
    samples = [sample("eager", 1, report=old)]
    lines = phases_table(init_phase_medians(samples, ("eager",)), summarize_modes(samples, ("eager",)))
    assert "boto3" not in lines[0] and "archive download" not in lines[0]


def test_proactive_table_puts_both_on_demand_patterns_side_by_side() -> None:
    summaries = summarize_modes([sample("eager", r) for r in (1, 2, 3)], ("eager",))
    header, row = proactive_table(summaries)
    assert header.split()[:3] == ["mode", "cold", "ms"] and "first/idle-warm" in header
    assert row.split() == ["eager", "1200", "902", "20.0", "5.0", "4.00x", "4.0"]


# -- INIT's imports the first requests never ran ---------------------------------------------

IMPORTS = """import time: self [us] | cumulative | imported package
import time:       100 |        100 | _awslambdaric_thing
import time:        10 |         10 |       jmespath.lexer
import time:        20 |         30 |     jmespath
import time:      5000 |       5000 |       botocore.session
import time:      1000 |       6030 |     botocore
import time:       200 |       6230 |   boto3
import time:       300 |        300 |     s3transfer.manager
import time:       100 |        400 |   s3transfer
import time:        50 |         50 |       botocore.retries
import time:        10 |         60 |     boto3.s3.inject
import time:        40 |        100 |   boto3.s3
import time:       700 |        700 |     _ssl
import time:       900 |       1600 |   ssl
import time:        30 |         30 |     zappa.asgi
import time:       400 |        430 |   zappa
import time:      2000 |       2000 |     django.db
import time:      3000 |       3000 |     django.urls
import time:      1000 |       6000 |   django
import time:       500 |      15000 | handler
import time:         7 |          7 | email.late
"""
USED = ["django.urls.resolvers", "django.core.handlers.base", "handler", "zappa.handler", "json"]


def test_handler_subtree_is_the_import_of_handler_and_everything_it_imported() -> None:
    rows = parse_importtime(IMPORTS)
    subtree = handler_subtree(rows)
    assert subtree[0].module == "jmespath.lexer" and subtree[-1].module == "handler"
    assert handler_subtree([ImportRow("a", 1, 1, 0)]) == [ImportRow("a", 1, 1, 0)]  # no handler: every row


def test_unused_packages_count_each_import_once_by_cumulative_time() -> None:
    rows = parse_importtime(IMPORTS)
    unused = unused_imports(rows, USED, native=["_ssl"])
    assert [u.module for u in unused] == ["boto3", "botocore", "ssl", "s3transfer", "jmespath"]
    boto3 = unused[0]
    assert boto3.cumulative_us == 6230 + 100 and boto3.self_us == 200 + 40 + 10 and boto3.modules == 3
    botocore = unused[1]
    assert botocore.cumulative_us == 6030 + 50 and botocore.modules == 3  # its second import, inside boto3.s3
    assert all(u.module not in ("_awslambdaric_thing", "email", "django", "zappa", "_ssl") for u in unused)
    assert unused_imports(rows, USED, count=2)[1].module == "botocore"


def test_unused_subpackages_of_used_packages() -> None:
    rows = parse_importtime(IMPORTS)
    every = [u.module for u in unused_imports(rows, USED, count=100)]
    modules = unused_imports(rows, USED, level=2, skip=every)
    assert [u.module for u in modules] == ["django.db", "zappa.asgi"]


def test_parse_used_unions_the_probe_lines() -> None:
    logs = ('START\nZAPPA_BENCH_USED {"used": ["b", "a"], "native": ["_ssl"]}\nnoise\n'
            'x ZAPPA_BENCH_USED {"used": ["c"], "native": []}\nZAPPA_BENCH_USED not json\n')
    assert parse_used(logs) == (["a", "b", "c"], ["_ssl"])
    assert parse_used("nothing here") is None


def test_the_document_and_table_list_the_unused_imports() -> None:
    profile = ImportProfile("slim_off", "eager", parse_importtime(IMPORTS), used=USED, native=["_ssl"], requests=6)
    imports = profile.as_dict()
    assert [u["module"] for u in imports["unused_packages"]][:2] == ["boto3", "botocore"]
    assert [u["module"] for u in imports["unused_modules"]] == ["django.db", "zappa.asgi"]
    assert imports["used_modules"] == len(USED) and imports["requests"] == 6
    text = "\n".join(unused_lines(imports))
    assert "never run by the first request and 5 warm one(s)" in text and "boto3" in text and "zappa.asgi" in text
    assert ImportProfile("slim_off", "eager", parse_importtime(IMPORTS)).as_dict()["unused_packages"] is None


# -- the probe on the real emulator -----------------------------------------------------------

HANDLER = '''
import heavy_unused
import lightly_used


def lambda_handler(event, context):
    return {"statusCode": 200, "headers": {}, "body": lightly_used.answer(event["path"])}
'''


def test_the_probe_sees_which_imported_packages_the_requests_ran(tmp_path: Path) -> None:
    root = tmp_path / "task"
    for name, body in (("heavy_unused", "from heavy_unused import inner\n\ndef unused():\n    return 1\n"),
                       ("lightly_used", "from lightly_used import helper\n\n"
                                        "def answer(path):\n    return helper.shout(path)\n")):
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(body)
    (root / "heavy_unused" / "inner.py").write_text("TABLE = [i * i for i in range(20000)]\n")
    (root / "lightly_used" / "helper.py").write_text("def shout(text):\n    return text.upper()\n")
    (root / "handler.py").write_text(HANDLER)
    function = FunctionSpec(name="probe", stage="dev")
    run = profile_imports(root, function, {}, paths=["/a", "/b"], warm=2)
    assert run.error is None and run.requests == 3 and run.request_errors == []
    assert run.used is not None and {"handler", "lightly_used", "lightly_used.helper"} <= set(run.used)
    assert not any(name.startswith("heavy_unused") for name in run.used)
    unused = [u.module for u in unused_imports(run.rows, run.used, run.native)]
    assert "heavy_unused" in unused and "lightly_used" not in unused
    assert not (root / "zappa_bench_importtime.py").exists()  # the probe is gone
    assert not list(root.glob("__pycache__/zappa_bench_importtime*"))


def test_render_table_shows_the_new_parts() -> None:
    from tests.bench.test_bench_output import make_document
    from zappa_eager.bench.document import VariantResult, build_document

    text = render_table(make_document())
    assert "boto3 in INIT" not in text  # the reports there have no flags
    assert "initialized ahead of traffic" not in text  # and no proactive figures

    modes = ("eager", "eager+warmup[once]")
    samples = [sample(mode, r, report={**REPORT, **SPLIT}) for r in (1, 2) for mode in modes]
    profile = ImportProfile("slim_on", "eager", parse_importtime(IMPORTS), used=USED, requests=3)
    doc = build_document(stage="dev", function="f", modes=modes, primary="slim_on",
                         variants=[VariantResult("slim_on", True, {"packages": {}}, samples)], burst={},
                         burst_variant=None, imports=profile, machine={}, settings={"idle_s": 1.0})
    assert doc["modes"]["eager+warmup[once]"]["proactive_first_over_idle_warm"] == 3.0
    assert doc["init_phases"]["eager"]["archive_write"] == 50.0 and doc["modes"]["eager"]["gc_paused"] is True
    text = render_table(doc)
    assert "initialized ahead of traffic with INIT type on-demand" in text and "proactive: an environment" in text
    assert "archive download" in text and "boto3 in INIT  GC paused" in text
    assert "imported in INIT, never run by the first request and 2 warm one(s)" in text


def test_the_chart_draws_warmup_modes_and_proactive_requests(tmp_path: Path) -> None:
    from tests.bench.test_bench_output import make_document
    from zappa_eager.bench.chart import MODE_COLORS, OTHER_MODE_COLOR, draw_chart, mode_color

    doc = make_document()
    variant = doc["variants"][doc["primary_variant"]]
    doc["modes"]["eager+warmup[once]"] = dict(doc["modes"]["eager+warmup"])
    variant["modes"]["eager+warmup[once]"] = dict(doc["modes"]["eager+warmup"])
    added = [{**s, "mode": "eager+warmup[once]",
              "requests": [{**r, "kind": "proactive-" + r["kind"]} if r["kind"] != "cold" else r
                           for r in s["requests"]]}
             for s in variant["environments"] if s["mode"] == "eager+warmup"]
    variant["environments"] += added
    doc["modes"]["eager+warmup[later]"] = dict(doc["modes"]["eager"])  # a mode the palette does not know
    variant["environments"] += [{**s, "mode": "eager+warmup[later]"} for s in variant["environments"]
                                if s["mode"] == "eager"]
    assert mode_color("eager+warmup[once]") == MODE_COLORS["eager+warmup[once]"]
    assert mode_color("eager+warmup[later]") == OTHER_MODE_COLOR
    path = draw_chart(doc, tmp_path / "bench.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_archive_split_of_zeros_is_not_shown() -> None:
    zeros = {key: 0.0 for key in SPLIT}
    samples = [sample("eager", 1, report={**REPORT, **zeros})]
    phases = init_phase_medians(samples, ("eager",))
    assert phases["eager"]["archive_download"] == 0.0  # in bench.json
    assert "archive download" not in phases_table(phases, summarize_modes(samples, ("eager",)))[0]
