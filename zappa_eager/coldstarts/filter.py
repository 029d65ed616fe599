"""The FilterLogEvents path: every REPORT line and init report of the window, page by page.

Works with only ``logs:FilterLogEvents`` and reads each line once, client-side; memory stays
bounded (``Aggregator`` keeps histograms, not lines). The filter pattern makes CloudWatch send
only the lines this command reads: REPORTs in both log formats, failed INITs, and zappa-eager's
init reports (its EMF line; the readable line is not needed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from zappa_eager.coldstarts.aggregate import Aggregator
from zappa_eager.coldstarts.calls import call
from zappa_eager.coldstarts.errors import is_not_found, no_log_group
from zappa_eager.coldstarts.options import Window
from zappa_eager.coldstarts.progress import ReadProgress
from zappa_eager.coldstarts.records import parse_message, stream_version

#: OR of exact phrases (CloudWatch filter pattern syntax): text REPORT / INIT_REPORT, their JSON-format records,
#: and zappa-eager's init report.
FILTER_PATTERN = '?"REPORT RequestId" ?"INIT_REPORT" ?"platform.report" ?"platform.initReport" ?"zappa_eager_init"'
PAGE_LIMIT = 10000  # the API's maximum events per page


def read_filtered(client: Any, log_group: str, region: str, window: Window, aggregator: Aggregator, *,
                  progress: ReadProgress | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """Feed every matching event of ``window`` to ``aggregator``; returns the number of pages read."""
    kwargs: dict[str, Any] = {"logGroupName": log_group, "startTime": window.start_ms, "endTime": window.end_ms - 1,
                              "filterPattern": FILTER_PATTERN, "limit": PAGE_LIMIT}
    pages = 0
    versions: dict[str, str] = {}  # stream name -> version, parsed once per stream
    while True:
        try:
            page = call(client.filter_log_events, action="logs:FilterLogEvents", resource=log_group, sleep=sleep,
                        **kwargs)
        except ClientError as exc:
            if is_not_found(exc):
                raise no_log_group(log_group, region) from exc
            raise
        pages += 1
        reached = None
        for event in page.get("events", []):
            stream = str(event.get("logStreamName", ""))
            version = versions.get(stream)
            if version is None:
                version = versions[stream] = stream_version(stream)
            aggregator.add(parse_message(str(event.get("message", "")), stream, version))
            reached = event.get("timestamp")
        if progress is not None:
            progress.update(aggregator.lines, len(aggregator.versions), reached, "FilterLogEvents")
        token = page.get("nextToken")
        if not token or token == kwargs.get("nextToken"):
            return pages
        kwargs["nextToken"] = token
