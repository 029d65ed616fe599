"""Ship what the emulator's environments wrote into a CloudWatch log group, as Lambda would.

One log stream per execution environment, named as Lambda names them
(``YYYY/MM/DD/[VERSION]`` + 32 hex digits), in the function's group ``/aws/lambda/NAME``;
every line the environment wrote (START/END/REPORT, the function's output, zappa-eager's init
report) becomes one event. Then ``zappa coldstarts`` reads them back from moto exactly as it
reads a real account. Tooling: never imported inside Lambda.
"""

from __future__ import annotations

import datetime
import json
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from zappa_eager.emulator.platform_log import parse_report_line

#: PutLogEvents limits: 10,000 events and 1,048,576 bytes (each event counts 26 bytes more) per call.
MAX_EVENTS = 10000
MAX_BYTES = 1_048_576 - 64 * 1024
EVENT_OVERHEAD = 26


#: Text REPORT fields -> the JSON log format's ``record.metrics`` keys.
JSON_METRICS = {"Duration": "durationMs", "Billed Duration": "billedDurationMs", "Memory Size": "memorySizeMB",
                "Max Memory Used": "maxMemoryUsedMB", "Init Duration": "initDurationMs",
                "Restore Duration": "restoreDurationMs", "Billed Restore Duration": "billedRestoreDurationMs"}
INTEGER_METRICS = frozenset({"Billed Duration", "Memory Size", "Max Memory Used", "Billed Restore Duration"})


def _iso(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def json_format(line: str, when_ms: int, init_type: str = "on-demand") -> str:
    """A platform line as Lambda writes it with ``LoggingConfig.LogFormat: JSON``; other lines unchanged.

    ``REPORT`` -> ``platform.report``, ``INIT_REPORT`` -> ``platform.initReport``, ``START`` ->
    ``platform.start``; the function's own output stays as it was printed.
    """
    text = line.strip()
    if text.startswith("REPORT ") or text.startswith("INIT_REPORT "):
        fields = parse_report_line(text[text.index(" ") + 1:])
        metrics: dict[str, Any] = {JSON_METRICS[name]: int(float(value)) if name in INTEGER_METRICS else value
                                   for name, value in fields.items() if name in JSON_METRICS}
        status = str(fields.get("Status") or "success")
        if text.startswith("REPORT "):
            record: dict[str, Any] = {"requestId": fields.get("RequestId"), "metrics": metrics, "status": status}
            kind = "platform.report"
        else:
            record = {"initializationType": init_type, "phase": fields.get("Phase", "init"), "status": status,
                      "metrics": {"durationMs": metrics.get("initDurationMs")}}
            kind = "platform.initReport"
        if fields.get("Error Type"):
            record["errorType"] = fields["Error Type"]
        return json.dumps({"time": _iso(when_ms), "type": kind, "record": record}, separators=(",", ":"))
    if text.startswith("START RequestId: "):
        request_id, _, version = text[len("START RequestId: "):].partition(" Version: ")
        return json.dumps({"time": _iso(when_ms), "type": "platform.start",
                           "record": {"requestId": request_id, "version": version}}, separators=(",", ":"))
    return line


def log_group_name(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def stream_name(version: str, when_ms: int, token: str | None = None) -> str:
    """``2026/12/01/[12]0a1b2c...``: the day the environment started, the version, a random id."""
    day = datetime.datetime.fromtimestamp(when_ms / 1000, datetime.timezone.utc).strftime("%Y/%m/%d")
    return f"{day}/[{version}]{token or secrets.token_hex(16)}"


def ensure_group(client: Any, group: str) -> None:
    try:
        client.create_log_group(logGroupName=group)
    except client.exceptions.ResourceAlreadyExistsException:
        pass


def put_lines(client: Any, group: str, stream: str, lines: Iterable[str], start_ms: int, step_ms: int = 1) -> int:
    """Create ``stream`` and put ``lines`` into it, ``step_ms`` apart from ``start_ms``; returns the events put."""
    client.create_log_stream(logGroupName=group, logStreamName=stream)
    batch: list[dict[str, Any]] = []
    size = 0
    put = 0
    timestamp = start_ms
    for line in lines:
        if not line.strip():
            continue
        event_size = len(line.encode("utf-8")) + EVENT_OVERHEAD
        if batch and (len(batch) >= MAX_EVENTS or size + event_size > MAX_BYTES):
            client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
            put += len(batch)
            batch, size = [], 0
        batch.append({"timestamp": timestamp, "message": line})
        size += event_size
        timestamp += step_ms
    if batch:
        client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
        put += len(batch)
    return put


def ship_environments(client: Any, function_name: str, version: str, environments: Sequence[Sequence[str]], *,
                      start_ms: int | None = None) -> list[str]:
    """One stream per environment's lines; returns the stream names."""
    group = log_group_name(function_name)
    ensure_group(client, group)
    start = int(time.time() * 1000) - 60_000 if start_ms is None else start_ms
    streams = []
    for index, lines in enumerate(environments):
        name = stream_name(version, start)
        put_lines(client, group, name, lines, start + index * 1000)
        streams.append(name)
    return streams


def record_versions(task_roots: Mapping[str, Path], *, logs_client: Any, function_name: str, env: Mapping[str, str],
                    event: Mapping[str, Any], cold_starts: int = 3, warm: int = 4,
                    provisioned: int = 1, memory_mb: int = 1024, timeout_s: float = 30) -> dict[str, list[list[str]]]:
    """Run each version's task root in the emulator and ship its environments' lines as that version.

    Per version: ``cold_starts`` on-demand environments and ``provisioned`` provisioned-concurrency
    ones, each answering ``1 + warm`` invocations of ``event``. Returns each version's environments' lines.
    """
    from zappa_eager.emulator import Emulator

    shipped: dict[str, list[list[str]]] = {}
    for version, task_root in task_roots.items():
        environments: list[list[str]] = []
        with Emulator(task_root, env=dict(env), function_name=function_name, memory_mb=memory_mb,
                      timeout_s=timeout_s, release_tmp_on_stop=True) as emulator:
            for init_type in ["on-demand"] * cold_starts + ["provisioned-concurrency"] * provisioned:
                environment = emulator.start_environment(init_type)
                for _ in range(1 + warm):
                    environment.invoke(dict(event))
                environment.stop()
                environments.append(environment.log_lines())
        ship_environments(logs_client, function_name, version, environments)
        shipped[version] = environments
    return shipped


def upstream_task_root(task_root: Path, dest: Path) -> Path:
    """The same package with upstream Zappa's own handler.py: the function as upstream would run it.

    (Not upstream's packaging: the bytecode and lean selection stay; the handler, which is what
    builds the app lazily or eagerly, is upstream's, byte for byte.)
    """
    import zappa.handler

    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(task_root, dest, symlinks=True)
    shutil.copy(zappa.handler.__file__, dest / "handler.py")
    return dest


def ship_demo_runs(task_root: Path, *, work: Path, endpoint: str, function_name: str, env: Mapping[str, str],
                   event: Mapping[str, Any], region: str = "us-east-1", cold_starts: int = 3,
                   warm: int = 3) -> dict[str, Any]:
    """The demo's step: run the deployed package as version 1 (upstream's handler) and 2 (zappa-eager's).

    Each version gets ``cold_starts`` on-demand environments and one provisioned-concurrency
    environment in the emulator; their lines go into moto's ``/aws/lambda/<function_name>``,
    where ``zappa coldstarts <stage> --source filter`` reads them back.
    """
    import boto3

    logs = boto3.client("logs", endpoint_url=endpoint, region_name=region)
    roots = {"1": upstream_task_root(task_root, work / "task-upstream"), "2": task_root}
    shipped = record_versions(roots, logs_client=logs, function_name=function_name, env=env, event=event,
                              cold_starts=cold_starts, warm=warm, provisioned=1)
    events_shipped = {version: sum(len(lines) for lines in environments) for version, environments in shipped.items()}
    for version, count in events_shipped.items():
        handler = "upstream Zappa's handler" if version == "1" else "zappa-eager's handler"
        print(f"    version {version} ({handler}): {len(shipped[version])} environments, {count} log events shipped "
              f"to {log_group_name(function_name)}", flush=True)
    print("    both versions run zappa-eager's package (bytecode, lean selection); only handler.py differs, so the "
          "before/after below is the handler's share of the gain (zappa bench compares upstream's packaging too)",
          flush=True)
    return {"log_group": log_group_name(function_name), "environments": {v: len(e) for v, e in shipped.items()},
            "events": events_shipped}
