"""``python -m zappa_eager.emulator TASK_ROOT``: invoke a function locally, for debugging.

Examples::

    python -m zappa_eager.emulator build/task --get /healthz -n 3
    python -m zappa_eager.emulator build/task --init-type snap-start --event '{"hello": 1}' --logs
    python -m zappa_eager.emulator build/task --s3 shop-code/slim.tar.gz=dist/shop.tar.gz --get /
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import events
from .config import INIT_TYPES
from .emulator import Emulator
from .result import InvokeResult


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m zappa_eager.emulator", description=__doc__.split("\n")[0])
    parser.add_argument("task_root", type=Path, help="an unpacked package directory")
    parser.add_argument("--handler", default="handler.lambda_handler")
    parser.add_argument("--init-type", choices=INIT_TYPES, default="on-demand")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--event", help="event JSON, or @file")
    what.add_argument("--get", metavar="PATH", help="an HTTP GET of PATH (see --kind)")
    what.add_argument("--keep-warm", action="store_true", help="Zappa's keep-warm event")
    parser.add_argument("--kind", choices=sorted(events.HTTP_KINDS), default="v1", help="HTTP event format")
    parser.add_argument("-n", "--count", type=int, default=1, help="invokes on the same environment")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--s3", action="append", default=[], metavar="BUCKET/KEY=FILE",
                        help="start moto S3 and upload FILE (repeatable)")
    parser.add_argument("--memory", type=int, default=512)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--function-name", default="function")
    parser.add_argument("--logs", action="store_true", help="print the environment's logs at the end")
    parser.add_argument("--echo", action="store_true", help="stream the environment's logs to stderr")
    return parser


def _event(args: argparse.Namespace) -> Any:
    if args.event:
        text = Path(args.event[1:]).read_text() if args.event.startswith("@") else args.event
        return json.loads(text)
    if args.keep_warm:
        return events.keep_warm(args.function_name)
    return events.http(args.kind, "GET", args.get or "/")


def _summary(result: InvokeResult) -> str:
    if result.error is not None:
        return f"ERROR ({result.error_phase}) {result.error_type}: {result.error_message}"
    if result.status_code is not None:
        return f"HTTP {result.status_code} {(result.body or '')[:200]!r}"
    return json.dumps(result.payload)[:300]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)
    failed = False
    with Emulator(args.task_root, handler=args.handler, env=env, memory_mb=args.memory, timeout_s=args.timeout,
                  function_name=args.function_name, echo_logs=args.echo) as emu:
        for spec in args.s3:
            target, _, source = spec.partition("=")
            bucket, _, key = target.partition("/")
            print(f"uploaded {emu.s3_put(bucket, key, Path(source))} ({emu.s3_endpoint})")
        environment = emu.start_environment(args.init_type)
        if environment.init_duration_ms is not None:
            print(f"INIT {environment.init_duration_ms:.2f} ms")
        for _ in range(args.count):
            result = environment.invoke(_event(args))
            failed = failed or not result.ok
            print(_summary(result))
            print(f"{result.report_line}\tLatency: {result.latency_ms:.2f} ms")
            if not environment.alive:
                break
        if args.logs:
            print("--- logs ---")
            print(environment.logs())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
