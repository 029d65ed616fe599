"""``python -m tests.reliability [--fast] [--json PATH] [--only MODULE]``: run the suite, print the table.

Exit status 0 when every row met its goal, 1 otherwise. Tooling module.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.reliability.runner import MODULES, run
from tests.reliability.table import format_details, format_table
from zappa_eager.emulator.config import DUMMY_CREDENTIALS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability", description=__doc__)
    parser.add_argument("--fast", action="store_true", help="the fast set (what CI runs): smaller archive, "
                        "3 s INIT limit instead of Lambda's 10 s, fewer requests")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH ('-': stdout, and the "
                        "table goes to stderr)")
    parser.add_argument("--only", action="append", choices=MODULES, default=[], metavar="MODULE",
                        help=f"run only this part (repeatable): {', '.join(MODULES)}")
    parser.add_argument("--workdir", type=Path, help="where task roots, archives and logs go "
                        "(default: a fresh folder under /var/tmp, removed afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    return parser.parse_args(argv)


def _sandbox_credentials() -> None:
    """Dummy credentials and no profile: nothing here may reach AWS (everything is on 127.0.0.1)."""
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(DUMMY_CREDENTIALS)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _sandbox_credentials()
    base = Path("/var/tmp") if os.access("/var/tmp", os.W_OK) else None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="zappa-reliability-", dir=base))
    out = sys.stderr if args.json == "-" else sys.stdout
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[reliability] {message}", file=sys.stderr, flush=True)

    try:
        rows = run(args.fast, workdir, args.only, progress)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    met = sum(row.met for row in rows)
    print(format_table(rows), file=out)
    print(f"\n{met}/{len(rows)} rows met their goal ({'fast' if args.fast else 'full'} set, {elapsed:.0f} s, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs)\n", file=out)
    print(format_details(rows), file=out)
    if args.json:
        document = {"fast": args.fast, "duration_s": round(elapsed, 1), "python": platform.python_version(),
                    "machine": platform.machine(), "cpus": os.cpu_count(), "all_met": met == len(rows),
                    "rows": [row.as_dict() for row in rows]}
        text = json.dumps(document, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 0 if met == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
