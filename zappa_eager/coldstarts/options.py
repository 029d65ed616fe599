"""``zappa coldstarts`` arguments, parsed once into frozen ``ColdstartsOptions``; times as zappa writes them."""

from __future__ import annotations

import argparse
import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from zappa_eager.coldstarts.errors import ColdstartsError

Source = Literal["auto", "insights", "filter"]
SOURCES: tuple[Source, ...] = ("auto", "insights", "filter")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Window:
    """The searched time range, in epoch milliseconds, ``start_ms`` inclusive, ``end_ms`` exclusive."""

    start_ms: int
    end_ms: int

    def describe(self) -> str:
        return f"{iso(self.start_ms)} to {iso(self.end_ms)}"


def iso(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ColdstartsOptions:
    stage: str
    window: Window
    since: str = "24h"
    until: str | None = None
    json: bool = False
    output: Path | None = None
    compare: tuple[str, str] | None = None
    source: Source = "auto"


def parse_time(value: str, option: str, now: datetime.datetime) -> int:
    """``7d`` / ``24h`` / ``30m`` / ``90s`` / ``2w`` ago, or an ISO 8601 date or time (UTC unless it says)."""
    text = value.strip()
    relative = _DURATION.match(text)
    if relative:
        seconds = float(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
        return int((now - datetime.timedelta(seconds=seconds)).timestamp() * 1000)
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ColdstartsError(
            f"{option} {value!r} is neither a duration nor a time: write e.g. {option} 7d (also s, m, h, w) or "
            f"{option} 2026-12-01T10:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp() * 1000)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zappa coldstarts",
        description="Summarize the stage's real cold starts from its CloudWatch Logs: per version, before/after "
        "zappa-eager. See docs/coldstarts.md.")
    parser.add_argument("stage", metavar="STAGE", help="stage of zappa_settings.json")
    parser.add_argument("--since", default="24h", metavar="WHEN",
                        help="start of the window: 7d, 24h, 30m, 90s, 2w ago, or an ISO time (default 24h)")
    parser.add_argument("--until", metavar="WHEN", help="end of the window, same forms (default: now)")
    parser.add_argument("--json", action="store_true", help="print the JSON document instead of the table")
    parser.add_argument("--output", metavar="DIR", help="also write coldstarts.json and coldstarts.png into DIR")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="the two versions to compare (default: the newest without zappa-eager's init report "
                        "against the newest with it)")
    parser.add_argument("--source", choices=SOURCES, default="auto",
                        help="auto (default): Logs Insights, FilterLogEvents if Insights is refused; or force one")
    return parser


def parse_options(argv: list[str], now: datetime.datetime | None = None) -> ColdstartsOptions:
    """argparse exits (status 2) on a malformed argument; a bad time raises ``ColdstartsError``."""
    args = build_parser().parse_args(argv)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    start = parse_time(args.since, "--since", now)
    end = parse_time(args.until, "--until", now) if args.until else int(now.timestamp() * 1000)
    start, end = start // 1000 * 1000, end // 1000 * 1000  # whole seconds: Logs Insights' granularity
    if start >= end:
        raise ColdstartsError(f"--since {args.since} ({iso(start)}) is not before --until "
                              f"{args.until or 'now'} ({iso(end)}): give a --since earlier than --until")
    compare = (str(args.compare[0]), str(args.compare[1])) if args.compare else None
    if compare and compare[0] == compare[1]:
        raise ColdstartsError(f"--compare {compare[0]} {compare[1]}: name two different versions")
    return ColdstartsOptions(stage=args.stage, window=Window(start, end), since=args.since, until=args.until,
                             json=bool(args.json), output=Path(args.output) if args.output else None,
                             compare=compare, source=args.source)
