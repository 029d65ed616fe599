"""Parsing ``python -X importtime`` output (stderr lines in an environment's log)."""

from __future__ import annotations

from zappa_eager.bench.importtime import ImportRow, parse_importtime, top_imports

LOG = """INIT_START Runtime Version: python3.11
import time: self [us] | cumulative | imported package
import time:       120 |        120 |   _io
import time:        80 |        200 | io
import time:      1500 |       1500 |       django.utils.version
import time:       300 |       1800 |     django.utils
import time:      2000 |       3800 |   django
import time:     25000 |    1023748 | handler
[zappa-eager] init 1020.0 ms (imports 500.0, settings 0.3, remote_env 0.0, archive 0.0, app 519.7, warmup 0.0 ms) ok
import time:         5 |          5 | encodings.idna
not an import line | 1 | 2
"""


def test_parse_importtime_reads_times_depth_and_skips_other_lines() -> None:
    rows = parse_importtime(LOG)
    assert [r.module for r in rows] == ["_io", "io", "django.utils.version", "django.utils", "django", "handler",
                                        "encodings.idna"]
    assert rows[0] == ImportRow("_io", 120, 120, 1)
    assert rows[2].depth == 3 and rows[3].depth == 2 and rows[5].depth == 0
    assert rows[5].cumulative_us == 1023748 and rows[5].self_us == 25000


def test_top_imports_by_cumulative_and_by_self() -> None:
    rows = parse_importtime(LOG)
    assert [r.module for r in top_imports(rows, 3)] == ["handler", "django", "django.utils"]
    assert [r.module for r in top_imports(rows, 2, by="self")] == ["handler", "django"]
    assert len(top_imports(rows)) == len(rows)  # fewer than 15


def test_parse_importtime_of_nothing() -> None:
    assert parse_importtime("") == []
    assert parse_importtime("import time: self [us] | cumulative | imported package") == []
