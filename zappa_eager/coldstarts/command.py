"""``zappa coldstarts STAGE``: find the stage's function, read its log group, summarize, write.

Order: options (a bad time fails before any AWS call), the stage's settings through the CLI,
its aliases (``lambda:ListAliases``; a missing function means the stage is not deployed),
then the log group via Logs Insights or, when Insights is refused or fails, FilterLogEvents.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import ClientError

from zappa_eager.coldstarts.aggregate import Aggregator
from zappa_eager.coldstarts.chart import draw_chart
from zappa_eager.coldstarts.document import build_document, write_document
from zappa_eager.coldstarts.errors import ColdstartsError, error_code
from zappa_eager.coldstarts.filter import FILTER_PATTERN, read_filtered
from zappa_eager.coldstarts.insights import read_insights
from zappa_eager.coldstarts.options import ColdstartsOptions
from zappa_eager.coldstarts.progress import ReadProgress
from zappa_eager.coldstarts.stage import StageTarget, load_aliases, load_stage
from zappa_eager.coldstarts.table import render_table

if TYPE_CHECKING:
    from zappa_eager.cli import EagerZappaCLI


def read_logs(logs: Any, target: StageTarget, options: ColdstartsOptions, *,
              sleep: Callable[[float], None] = time.sleep, poll_s: float = 1.0,
              stream: TextIO | None = None) -> tuple[Aggregator, str, list[str]]:
    """The aggregated window, the source that answered, and notes (why Insights was not used)."""
    notes: list[str] = []
    if options.source in ("auto", "insights"):
        aggregator = Aggregator()
        try:
            read_insights(logs, target.log_group, target.region, options.window, aggregator, sleep=sleep,
                          poll_s=poll_s, progress=ReadProgress(stream))
            return aggregator, "logs-insights", notes
        except (ColdstartsError, ClientError) as exc:
            if options.source == "insights" or (isinstance(exc, ColdstartsError) and "no log group" in exc.message):
                raise
            reason = exc.message if isinstance(exc, ColdstartsError) else f"{error_code(exc)}: {exc}"
            notes.append(f"Logs Insights did not answer ({reason}); read with FilterLogEvents instead")
    aggregator = Aggregator()
    read_filtered(logs, target.log_group, target.region, options.window, aggregator, sleep=sleep,
                  progress=ReadProgress(stream))
    return aggregator, "filter-log-events", notes


def empty_window(target: StageTarget, options: ColdstartsOptions, source: str) -> ColdstartsError:
    how = "Logs Insights" if source == "logs-insights" else f"FilterLogEvents with the pattern {FILTER_PATTERN}"
    return ColdstartsError(
        f"no REPORT lines in {target.log_group} ({target.region}) from {options.window.describe()} "
        f"(--since {options.since}{f' --until {options.until}' if options.until else ''}), searched with {how}: "
        "the function was not invoked in that window; widen it (e.g. --since 7d).")


def run(cli: EagerZappaCLI, options: ColdstartsOptions, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    target = load_stage(cli, options.stage)
    zappa = cli.zappa  # upstream's clients: the stage's region, profile and aws_endpoint_urls
    load_aliases(zappa.lambda_client, target)
    aggregator, source, notes = read_logs(zappa.logs_client, target, options)
    if not any(stats.invocations for stats in aggregator.versions.values()):
        raise empty_window(target, options, source)
    document = build_document(target, options, aggregator, source=source, notes=notes)
    if options.output is not None:
        json_path = write_document(document, options.output / "coldstarts.json")
        png_path = draw_chart(document, options.output / "coldstarts.png")
        print(f"zappa coldstarts: wrote {json_path} and {png_path}", file=sys.stderr)
    if options.json:
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        out.write(render_table(document) + "\n")
    return 0
