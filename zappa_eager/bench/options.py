"""``zappa bench`` arguments: parsed once into a frozen ``BenchOptions``, with the --quick defaults."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from zappa_eager.bench.machine import usable_cpus
from zappa_eager.bench.modes import MODES, Mode, parse_modes, parse_warmup_on_demand, with_warmup_modes

#: ``--slim``: the slim_handler variants to measure.
SlimChoice = Literal["stage", "on", "off", "both"]
SLIM_CHOICES: tuple[SlimChoice, ...] = ("stage", "on", "off", "both")

#: (normal, --quick) defaults: --quick is what CI runs, to check the output, not the speed.
#: Both bursts are capped by ``default_burst`` on small machines.
DEFAULTS = {"environments": (5, 2), "warm": (20, 5), "burst": (20, 6), "burst_envs": (2, 1), "unpack_runs": (5, 2)}
#: Seconds a pre-initialized environment idles before its first request (and before the idle-warm one).
IDLE_S = (1.0, 0.2)
#: On-demand cold starts per usable CPU in the default burst.
COLD_STARTS_PER_CPU = 1


def default_burst(burst_envs: int, cpus: int, *, quick: bool = False) -> int:
    """The burst size when ``--burst`` is not given: 20 (6 with --quick), or fewer on a small machine.

    On Lambda every environment has its own CPU; here the burst's cold starts share this
    machine's. Eight concurrent cold starts on 2 CPUs take ~4x a single one (measured: 28 s
    against 7.7 s for a slim_handler Django app), so the figure would be mostly CPU sharing.
    By default the burst starts at most ``COLD_STARTS_PER_CPU`` on-demand environment per
    usable CPU, beside its ``burst_envs`` pre-initialized ones.
    """
    return min(DEFAULTS["burst"][1 if quick else 0], burst_envs + COLD_STARTS_PER_CPU * max(cpus, 1))


@dataclass(frozen=True)
class BenchOptions:
    stage: str
    output: Path
    quick: bool = False
    environments: int = 5
    warm: int = 20
    paths: tuple[str, ...] = ("/",)
    burst: int = 20
    burst_envs: int = 2
    slim: SlimChoice = "both"
    modes: tuple[Mode, ...] = MODES
    zip_path: Path | None = None
    archive_path: Path | None = None
    memory_mb: int | None = None
    keep_work: bool = False
    idle_s: float = 1.0
    unpack_runs: int = 5
    stage_env: bool = False
    cache: bool = True
    init_limit_s: float | None = None  # None: function.INIT_TIMEOUT_S
    warmup_on_demand: tuple[str, ...] = ()  # one eager+warmup[<value>] mode each (already in ``modes``)
    proactive: bool = True  # measure the proactive initialization pattern
    lmi: int = 0  # processes of one Lambda Managed Instances environment to measure (0: none)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zappa bench",
        description="Measure cold starts of STAGE on this machine (local Lambda emulator, no AWS account): "
        "upstream zappa versus zappa-eager, side by side.",
    )
    parser.add_argument("stage", metavar="STAGE", help="stage of zappa_settings.json")
    parser.add_argument("--quick", action="store_true",
                        help="small run for CI: 2 environments, 5 warm requests, a burst of up to 6, idle 0.2 s, "
                        "2 unpack runs")
    parser.add_argument("--output", default="bench-out", metavar="DIR", help="where bench.json/bench.png go")
    parser.add_argument("--zip", dest="zip_path", metavar="PATH",
                        help="benchmark this package instead of packaging: one package for every mode (the upstream "
                        "modes get upstream's handler.py, not upstream's packaging)")
    parser.add_argument("--archive", dest="archive_path", metavar="PATH",
                        help="with --zip of a slim_handler package: its project tarball")
    parser.add_argument("--environments", type=int, metavar="N", help="fresh environments per mode (default 5)")
    parser.add_argument("--warm", type=int, metavar="N", help="warm requests per environment (default 20)")
    parser.add_argument("--path", dest="paths", action="append", metavar="PATH",
                        help="request path (default /); repeat to cycle through several")
    parser.add_argument("--burst", type=int, metavar="K",
                        help="concurrent requests in the burst (default 20, --quick 6; at most P + 1 per usable CPU)")
    parser.add_argument("--burst-envs", type=int, metavar="P", help="pre-initialized environments (default 2)")
    parser.add_argument("--idle", dest="idle_s", type=float, metavar="SECONDS",
                        help="idle gap before a pre-initialized environment's first request, and before the "
                        "idle-warm request it is compared with (default 1; 0: none)")
    parser.add_argument("--unpack-runs", type=int, metavar="N",
                        help="slim_handler: unpack the project archive N times with upstream's and with "
                        "zappa-eager's code, alternated (default 5; 0: skip)")
    parser.add_argument("--slim", choices=SLIM_CHOICES, default="both",
                        help="slim_handler variants: as the stage says, on, off, or both (default)")
    parser.add_argument("--modes", action="append", metavar="MODE[,MODE]",
                        help=f"modes to compare (default {', '.join(MODES)}; also floor: the app alone behind the "
                        "thinnest adapter, with --slim off)")
    parser.add_argument("--warmup-on-demand", action="append", metavar="VALUE[,VALUE]",
                        help="add one eager+warmup[VALUE] mode per eager_init_warmup_on_demand value (skip, once, "
                        "full), measured in the same rounds as the other modes (eager+warmup keeps the stage's)")
    parser.add_argument("--no-proactive", dest="proactive", action="store_false",
                        help="skip the environments initialized ahead of traffic with INIT type on-demand "
                        "(Lambda's proactive initialization)")
    parser.add_argument("--lmi", type=int, default=0, metavar="N",
                        help="also measure one Lambda Managed Instances environment of N runtime processes sharing "
                        "/tmp (per-process INIT, requests served while others still INIT, memory of the environment)")
    parser.add_argument("--memory", dest="memory_mb", type=int, metavar="MB",
                        help="memory size of the emulated function (default: the stage's memory_size)")
    parser.add_argument("--keep-work", action="store_true", help="keep the packages and task roots")
    parser.add_argument("--stage-env", action="store_true",
                        help="run the app with every aws_environment_variables and environment_variables of the "
                        "stage as they are (by default, those that may point outside this machine are dropped; "
                        "bench_environment still wins; remote_env is always served empty)")
    parser.add_argument("--no-cache", dest="cache", action="store_false",
                        help="package afresh even if an earlier run packaged the same project, virtualenv and "
                        "settings (see docs/benchmarks.md, 'How long it takes')")
    parser.add_argument("--init-limit", dest="init_limit_s", type=float, metavar="SECONDS",
                        help="INIT limit of the emulated function (default 120: generous, as concurrent cold "
                        "starts share this machine's CPUs; Lambda's on-demand limit is 10)")
    return parser


def parse_options(argv: list[str]) -> BenchOptions:
    """Parse ``argv``; argparse exits (status 2) on a bad value, as every zappa command does."""
    parser = build_parser()
    args = parser.parse_args(argv)
    pick = 1 if args.quick else 0

    def number(name: str, minimum: int) -> int:
        value = getattr(args, name)
        value = DEFAULTS[name][pick] if value is None else value
        if value < minimum:
            parser.error(f"--{name.replace('_', '-')} must be at least {minimum}")
        return int(value)

    paths = tuple(args.paths or ["/"])
    for path in paths:
        if not path.startswith("/"):
            parser.error(f"--path {path!r} must start with '/'")
    try:
        warmup_on_demand = parse_warmup_on_demand(args.warmup_on_demand)
        modes = with_warmup_modes(parse_modes(args.modes), warmup_on_demand)
    except ValueError as exc:
        parser.error(str(exc))
    if args.archive_path and not args.zip_path:
        parser.error("--archive goes with --zip")
    burst_envs = number("burst_envs", 0)
    if args.burst is None:
        args.burst = default_burst(burst_envs, usable_cpus(), quick=args.quick)
    burst = number("burst", 0)
    if burst and burst_envs > burst:
        parser.error("--burst-envs cannot exceed --burst")
    if args.init_limit_s is not None and not 0 < args.init_limit_s <= 900:  # also rejects nan
        parser.error("--init-limit must be more than 0 and at most 900 seconds (Lambda's longest)")
    idle_s = IDLE_S[pick] if args.idle_s is None else args.idle_s
    if not 0 <= idle_s <= 600:  # also rejects nan
        parser.error("--idle must be between 0 and 600 seconds")
    return BenchOptions(
        stage=args.stage,
        output=Path(args.output),
        quick=args.quick,
        environments=number("environments", 1),
        warm=number("warm", 1),
        paths=paths,
        burst=burst,
        burst_envs=burst_envs,
        slim=cast(SlimChoice, args.slim),  # argparse checked it against SLIM_CHOICES
        modes=modes,
        zip_path=Path(args.zip_path) if args.zip_path else None,
        archive_path=Path(args.archive_path) if args.archive_path else None,
        memory_mb=args.memory_mb,
        keep_work=args.keep_work,
        idle_s=float(idle_s),
        unpack_runs=number("unpack_runs", 0),
        stage_env=args.stage_env,
        cache=args.cache,
        init_limit_s=args.init_limit_s,
        warmup_on_demand=warmup_on_demand,
        proactive=args.proactive,
        lmi=max(0, args.lmi),
    )
