"""The CloudWatch Logs Insights path: warm durations counted server-side, the rare lines fetched as rows.

Logs Insights returns at most 10,000 rows per query and its ``pct()`` is not the exact
percentile this command promises, so nothing is averaged or estimated server-side:

* ``WARM_QUERY`` counts the warm REPORTs per (version, Duration): ``stats count(*) by``. A
  histogram is exact (durations are logged to 0.01 ms) and has far fewer rows than lines.
* ``ROWS_QUERY`` fetches, as raw messages, the lines that are not plain warm REPORTs: cold
  starts (Init Duration), restores, timeouts and errors, failed INITs and zappa-eager's init
  reports; they are parsed exactly as the FilterLogEvents path parses them.

The two queries split the lines between them exactly (the same regular expression selects
one and excludes the other). An on-demand INIT cut at the init limit is run again inside the
first invoke, whose REPORT has no Init Duration and was counted warm: a follow-up query
fetches the REPORTs of those streams and moves that one to the cold starts. A query that
comes back with 10,000 rows may have been cut: its
window is split in two and both halves are asked again, until every answer is complete.
At most ``MAX_CONCURRENT`` queries run at once (an account has 30 for all its users), and a
query refused for the concurrency limit is retried with backoff.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from zappa_eager.coldstarts.aggregate import Aggregator
from zappa_eager.coldstarts.calls import call
from zappa_eager.coldstarts.errors import ColdstartsError, is_not_found, no_log_group
from zappa_eager.coldstarts.options import Window, iso
from zappa_eager.coldstarts.progress import ReadProgress
from zappa_eager.coldstarts.records import Invocation, parse_message, stream_version

MAX_ROWS = 10000
MAX_CONCURRENT = 4
POLL_S = 1.0
#: Lines that are not plain warm REPORTs (an INIT or restore waited for, a bad status).
NOT_WARM = (r"/Init Duration|Restore Duration|initDurationMs|restoreDurationMs|Status: (timeout|error)|"
            r'"status":\s*"(timeout|error|failure)"/')
REPORTS = r'/^REPORT RequestId|"type":\s*"platform\.report"/'
ROWS_QUERY = (
    "fields @timestamp, @logStream, @message\n"
    rf'| filter @message like {NOT_WARM} or @message like /INIT_REPORT|platform\.initReport|"zappa_eager_init"/' "\n"
    "| sort @timestamp asc\n"
    f"| limit {MAX_ROWS}"
)
WARM_QUERY = (
    f"filter @message like {REPORTS} and @message not like {NOT_WARM}\n"
    r"| parse @logStream /\[(?<version>[^\]]+)\]/" "\n"
    r'| parse @message /(?:Duration: |"durationMs":\s*)(?<duration>[0-9.]+)/' "\n"
    "| stats count(*) as n by version, duration\n"
    f"| limit {MAX_ROWS}"
)
QUERIES = {"rows": ROWS_QUERY, "warm": WARM_QUERY}
#: Streams per follow-up query (a query string holds at most 10,000 characters).
FOLLOWUP_STREAMS = 50


def followup_query(streams: list[str]) -> str:
    """The REPORTs of streams whose INIT was cut at the limit: the first one waited for the re-run INIT.

    That REPORT has no Init Duration, so ``WARM_QUERY`` counted it warm; it is moved to the cold starts.
    """
    names = ", ".join(json.dumps(stream) for stream in streams)
    return ("fields @timestamp, @logStream, @message\n"
            f"| filter @logStream in [{names}] and @message like {REPORTS}\n"
            "| sort @timestamp asc\n"
            f"| limit {MAX_ROWS}")


@dataclass(frozen=True)
class Task:
    kind: str  # "rows", "warm" or "followup"
    start_s: int  # inclusive
    end_s: int  # inclusive (StartQuery's range includes both ends)
    query: str = ""  # the follow-up's; the others are QUERIES[kind]

    @property
    def query_string(self) -> str:
        return self.query or QUERIES[self.kind]

    def halves(self) -> tuple[Task, Task]:
        middle = (self.start_s + self.end_s) // 2
        return (Task(self.kind, self.start_s, middle, self.query), Task(self.kind, middle + 1, self.end_s, self.query))


def _row(fields: list[dict[str, str]]) -> dict[str, str]:
    return {f["field"]: f.get("value", "") for f in fields if "field" in f}


def feed(task: Task, results: list[list[dict[str, str]]], aggregator: Aggregator) -> None:
    for fields in results:
        row = _row(fields)
        if task.kind == "warm":
            duration, count = row.get("duration"), row.get("n")
            if duration and count:
                aggregator.add_warm_counts(row.get("version") or "?", float(duration), int(float(count)))
        elif task.kind == "followup":
            stream = row.get("@logStream", "")
            record = parse_message(row.get("@message", ""), stream, stream_version(stream))
            if isinstance(record, Invocation):
                aggregator.reclassify(record)
        else:
            stream = row.get("@logStream", "")
            aggregator.add(parse_message(row.get("@message", ""), stream, stream_version(stream)))


def read_insights(client: Any, log_group: str, region: str, window: Window, aggregator: Aggregator, *,
                  progress: ReadProgress | None = None, sleep: Callable[[float], None] = time.sleep,
                  poll_s: float = POLL_S, max_concurrent: int = MAX_CONCURRENT) -> int:
    """Run the queries over ``window`` and feed their answers to ``aggregator``; returns the number of queries."""
    start_s, end_s = window.start_ms // 1000, (window.end_ms - 1) // 1000
    queries = run_tasks(client, log_group, region, [Task(kind, start_s, end_s) for kind in QUERIES], aggregator,
                        progress=progress, sleep=sleep, poll_s=poll_s, max_concurrent=max_concurrent)
    cut = sorted(aggregator.waiting)
    followups = [Task("followup", start_s, end_s, followup_query(cut[i:i + FOLLOWUP_STREAMS]))
                 for i in range(0, len(cut), FOLLOWUP_STREAMS)]
    if followups:
        queries += run_tasks(client, log_group, region, followups, aggregator, progress=progress, sleep=sleep,
                             poll_s=poll_s, max_concurrent=max_concurrent)
    return queries


def run_tasks(client: Any, log_group: str, region: str, pending: list[Task], aggregator: Aggregator, *,
              progress: ReadProgress | None, sleep: Callable[[float], None], poll_s: float,
              max_concurrent: int) -> int:
    """Start, poll, split and feed until every task has a complete answer; returns the number of queries."""
    running: dict[str, Task] = {}
    queries = 0
    while pending or running:
        while pending and len(running) < max_concurrent:
            task = pending.pop(0)
            running[start_query(client, log_group, region, task, sleep)] = task
            queries += 1
        sleep(poll_s)
        for query_id, task in list(running.items()):
            answer = call(client.get_query_results, action="logs:GetQueryResults", resource=log_group, sleep=sleep,
                          queryId=query_id)
            status = answer.get("status")
            if status in ("Scheduled", "Running", "Unknown"):
                continue
            del running[query_id]
            if status != "Complete":
                raise ColdstartsError(f"Logs Insights query {query_id} on {log_group} ended {status} "
                                      f"({iso(task.start_s * 1000)} to {iso(task.end_s * 1000)}); run again, or "
                                      "use --source filter")
            results = answer.get("results") or []
            if len(results) >= MAX_ROWS:  # maybe cut: ask again in two halves
                if task.end_s <= task.start_s:
                    raise ColdstartsError(f"more than {MAX_ROWS} {task.kind} rows within one second "
                                          f"({iso(task.start_s * 1000)}) of {log_group}: Logs Insights cannot "
                                          "answer exactly; use --source filter")
                pending.extend(task.halves())
                continue
            feed(task, results, aggregator)
            if progress is not None:
                progress.update(aggregator.lines, len(aggregator.versions), task.end_s * 1000,
                                f"Logs Insights ({queries} queries)")
    return queries


def start_query(client: Any, log_group: str, region: str, task: Task, sleep: Callable[[float], None]) -> str:
    try:
        started = call(client.start_query, action="logs:StartQuery", resource=log_group, sleep=sleep,
                       logGroupName=log_group, startTime=task.start_s, endTime=task.end_s,
                       queryString=task.query_string, limit=MAX_ROWS)
    except ClientError as exc:
        if is_not_found(exc):
            raise no_log_group(log_group, region) from exc
        raise
    return str(started["queryId"])
