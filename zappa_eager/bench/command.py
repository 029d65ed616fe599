"""``zappa bench STAGE``: package, derive the modes, measure on the emulator, write the results.

Runs in the project folder like every zappa command: its prerequisites are checked first,
the stage's settings are loaded and validated by the CLI, upstream's package is built by the
CLI's own ``create_package`` (what ``zappa package`` ships), zappa-eager's derived from it by
the same steps (``derive``), both reused while nothing they are made of changes
(``packagecache``), and the function is emulated with the stage's memory, timeout and region, and with
none of its environment that points outside this machine (``environment``). Nothing talks
to AWS; S3 is a moto server on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from click import ClickException

from zappa_eager.bench import packagecache
from zappa_eager.bench.archivephase import measure_archive_phase
from zappa_eager.bench.burst import run_burst
from zappa_eager.bench.chart import draw_chart
from zappa_eager.bench.contention import CpuWindow
from zappa_eager.bench.contention import describe as describe_contention
from zappa_eager.bench.derive import build_variant
from zappa_eager.bench.document import ImportProfile, VariantResult, build_document, write_document
from zappa_eager.bench.environment import BenchEnvironment, plan_environment
from zappa_eager.bench.function import INIT_TIMEOUT_S, FunctionSpec, emulator_env, open_emulators
from zappa_eager.bench.importtime import profile_imports
from zappa_eager.bench.lmi import format_lmi, run_lmi
from zappa_eager.bench.machine import machine_info
from zappa_eager.bench.modes import EAGER, FLOOR, Mode, Packaging, is_eager, packagings_for
from zappa_eager.bench.options import BenchOptions
from zappa_eager.bench.phases import PhaseClock
from zappa_eager.bench.prerequisites import check_prerequisites
from zappa_eager.bench.progress import Progress
from zappa_eager.bench.records import BurstRequest
from zappa_eager.bench.runner import Clock, run_main
from zappa_eager.bench.table import render_table
from zappa_eager.bench.variants import (
    Package,
    Variant,
    derive_task_roots,
    extra_excludes,
    given_variant,
    package_is_slim,
    plan_variants,
    settings_value,
    variant_name,
    warmup_requests,
)
from zappa_eager.packaging.facts import describe_package

if TYPE_CHECKING:
    from zappa_eager.bench.stagecli import StageCLI
    from zappa_eager.emulator import Emulator


def function_spec(cli: StageCLI, options: BenchOptions, environment: BenchEnvironment) -> FunctionSpec:
    only_url = bool(getattr(cli, "use_function_url", False)) and not getattr(cli, "use_apigateway", True)
    return FunctionSpec(
        name=str(cli.lambda_name),
        stage=str(cli.api_stage),
        memory_mb=int(options.memory_mb or cli.memory_size or 512),
        timeout_s=float(cli.timeout_seconds or 30),
        region=str(cli.aws_region or "us-east-1"),
        env=dict(environment.lambda_env),
        event_kind="url" if only_url else "v1",
    )


def cached_variant(cli: StageCLI, slim: bool, work: Path, exclude: list[str],
                   packagings: tuple[Packaging, ...], key: str) -> Variant | None:
    """The variant's packages from an earlier run with the same key (``packagecache``), or None."""
    found = packagecache.load(key, work)
    if found is None or set(found) != set(packagings):
        return None
    packages = {}
    for packaging in packagings:
        paths = found[packaging]
        package, archive = paths["zip"], paths["archive"]
        if package is None or (slim and archive is None):
            return None
        packages[packaging] = Package(packaging, package, archive, describe_package(package, archive))
    return Variant(variant_name(slim), slim, packages)


def variant_cache_key(cli: StageCLI, project: Path, skip: list[Path], exclude: list[str], slim: bool,
                      packagings: tuple[Packaging, ...]) -> str:
    settings = {"stage": cli.stage_config, "environment": getattr(cli, "environment_variables", None),
                "exclude": exclude, "eager": dataclasses.asdict(cli.eager)}
    venv = Path(os.environ.get("VIRTUAL_ENV") or sys.prefix)
    return packagecache.cache_key(venv=venv, project=project, skip=skip, settings=settings, slim=slim,
                                  packagings=packagings)


def prepare_variants(cli: StageCLI, options: BenchOptions, project: Path, output: Path, work: Path,
                     progress: Progress) -> list[Variant]:
    """Package (or take --zip), primary variant first: per variant, one package per packaging the modes need.

    Upstream's package is built by ``zappa package``; zappa-eager's is derived from it
    (``derive``). Both are reused from an earlier run when nothing they are made of changed
    (``packagecache``; ``--no-cache`` packages afresh).
    """
    if options.zip_path is not None:
        package = options.zip_path.resolve()
        slim = package_is_slim(package)
        if slim and options.archive_path is None:
            raise ClickException("--zip is a slim_handler package: give its project tarball with --archive")
        archive = options.archive_path.resolve() if options.archive_path else None
        if slim and FLOOR in options.modes:
            raise ClickException("--modes floor runs the package as it is: give a package without slim_handler")
        variant = given_variant(package, archive, slim)
        given = variant.package_for(options.modes[0])
        progress.note(f"using {package.name} for every mode (upstream modes: upstream's handler.py swapped in; "
                      f"not upstream's packaging): {given.facts.summary() if given.facts else ''}")
        progress.step(f"using {package.name}")
        return [variant]
    stage_slim = bool(cli.stage_config.get("slim_handler", False))
    if FLOOR in options.modes and any(plan_variants(options.slim, stage_slim)):
        raise ClickException("--modes floor runs the package as it is, without a slim_handler archive: "
                             "add --slim off (the floor of the app itself is the same either way)")
    exclude = extra_excludes(project, output, work)
    packagings = packagings_for(options.modes)
    variants = []
    for slim in plan_variants(options.slim, stage_slim):
        name = variant_name(slim)

        def built(package: Package, name: str = name) -> None:
            facts = package.facts.summary() if package.facts else "no facts"
            progress.note(f"{name}, {package.packaging} packaging: {facts}")
            progress.step(f"packaged {name} ({package.packaging})")

        key = variant_cache_key(cli, project, [output, work], exclude, slim, packagings) if options.cache else None
        reused = cached_variant(cli, slim, work, exclude, packagings, key) if key else None
        if reused is not None:
            progress.note(f"{name}: packages of an earlier run reused (nothing they are made of changed; "
                          f"--no-cache packages afresh): {packagecache.cache_root() / str(key)}")
            for each in reused.packages.values():
                built(each)
            variants.append(reused)
            continue
        how = " (zappa-eager's derived from upstream's: same dependencies)" if len(packagings) > 1 else ""
        progress.note(f"packaging {name} with `zappa package`, {' and '.join(packagings)}{how} "
                      "(copies the virtualenv; a minute or so)")
        fresh = build_variant(cli, slim, work, exclude, packagings, on_built=built)
        if key:
            packagecache.store(key, {packaging: (each.zip, each.archive) for packaging, each in fresh.packages.items()})
        variants.append(fresh)
    return variants


def import_mode(modes: tuple[Mode, ...]) -> Mode:
    """The mode the import profile runs: ``eager`` (no warm-up: INIT imports only what building the app needs),
    else the first zappa-eager mode, else the first."""
    if EAGER in modes:
        return EAGER
    return next((mode for mode in modes if is_eager(mode)), modes[0])


@dataclass
class Measured:
    """Everything measured, as the document builder wants it."""

    variants: list[VariantResult] = field(default_factory=list)
    burst: dict[Mode, list[BurstRequest]] = field(default_factory=dict)
    imports: ImportProfile | None = None
    isolation: dict[str, Any] = field(default_factory=dict)
    lmi: dict[str, Any] | None = None
    burst_contention: dict[str, Any] | None = None


def measure_lmi(emulators: Mapping[Mode, Emulator], s3_envs: Mapping[Mode, Any], options: BenchOptions,
                function: FunctionSpec) -> dict[str, Any]:
    """One Lambda Managed Instances environment of zappa-eager's package (``--lmi N``), printed and kept."""
    mode = next((m for m in reversed(options.modes) if is_eager(m)), options.modes[-1])
    bench = run_lmi(emulators[mode], function.event(options.paths[0]), processes=options.lmi, rounds=options.warm,
                    env=emulator_env(function, mode, s3_envs[mode]))
    print(format_lmi(bench), flush=True)
    return {"mode": mode, **dataclasses.asdict(bench)}


def measure_variant(variant: Variant, options: BenchOptions, function: FunctionSpec, progress: Progress,
                    measured: Measured, phases: PhaseClock, *, primary: bool) -> VariantResult:
    """The main scenario on one variant; on the primary one also the burst and the import profile."""
    modes = options.modes
    with ExitStack() as stack:
        emulators, s3_envs = open_emulators(stack, variant, modes, function,
                                            init_timeout_s=options.init_limit_s or INIT_TIMEOUT_S)
        sample_emulator = next(iter(emulators.values()))
        measured.isolation = {"isolated_tmp": sample_emulator.isolated_tmp, "note": sample_emulator.isolation_note}
        if not sample_emulator.isolated_tmp:
            progress.note(f"no private /tmp per environment ({sample_emulator.isolation_note}): "
                          "slim_handler figures may be too good")
        with phases.phase(f"measure {variant.name}"):
            samples = run_main(emulators, variant, function, environments=options.environments,
                               warm=options.warm, paths=options.paths, clock=Clock(), idle_s=options.idle_s,
                               proactive=options.proactive, on_step=progress.step)
        result = VariantResult(variant.name, variant.slim, variant.describe(), samples,
                               {mode: variant.package_for(mode).packaging for mode in modes})
        measured.variants.append(result)
        if primary and options.burst:
            window = CpuWindow()
            with phases.phase("burst"):
                for mode in modes:
                    measured.burst[mode] = run_burst(emulators[mode], mode, function.event, requests=options.burst,
                                                     prewarmed=options.burst_envs, paths=options.paths)
                    progress.step(f"burst {mode}")
            measured.burst_contention = window.result()
            progress.note(f"burst: {describe_contention(measured.burst_contention)}")
        if primary:
            mode = import_mode(modes)
            env = emulator_env(function, mode, s3_envs[mode])
            with phases.phase("import profile"):
                run = profile_imports(variant.task_roots[mode], function, env, paths=options.paths, warm=options.warm)
            measured.imports = ImportProfile(variant.name, mode, run.rows, run.error, used=run.used,
                                             native=run.native, requests=run.requests,
                                             request_errors=run.request_errors)
            progress.step("import profile")
        if primary and options.lmi:
            measured.lmi = measure_lmi(emulators, s3_envs, options, function)
            progress.step("managed instances")
        progress.note(f"{variant.name}: stopping the environments, deleting their /tmp folders")
        with phases.phase("cleanup"):
            stack.close()
    return result


def project_name(cli: StageCLI, variant: Variant, modes: tuple[Mode, ...]) -> str:
    """The folder name the slim_handler unpacks into (/tmp/<project_name>), as the package's settings say."""
    name = settings_value(variant.settings[modes[0]], "PROJECT_NAME") if variant.settings else None
    return str(name or getattr(cli, "project_name", None) or "project")


def prepare_environment(cli: StageCLI, options: BenchOptions) -> BenchEnvironment:
    """The stage's variables the bench keeps; the CLI bakes only those into every zappa_settings.py it renders."""
    environment = plan_environment(cli.stage_config, options.stage, stage_env=options.stage_env)
    cli.environment_variables = dict(environment.settings_env)  # read by create_package and render_settings
    return environment


@contextmanager
def terminate_cleanly() -> Iterator[None]:
    """SIGTERM (a CI timeout, ``kill``) unwinds like Ctrl-C: environments, moto and work files are cleaned up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(cli: StageCLI, options: BenchOptions) -> int:
    with terminate_cleanly():
        return _run(cli, options)


def _run(cli: StageCLI, options: BenchOptions) -> int:
    check_prerequisites()  # before anything slow: packaging takes a minute or more
    project = Path.cwd().resolve()
    output = (options.output if options.output.is_absolute() else project / options.output).resolve()
    cli.api_stage = options.stage
    cli.load_credentials = False  # like `zappa package`: no AWS session is needed
    cli.load_settings()
    cli.check_venv()
    environment = prepare_environment(cli, options)
    modes = options.modes
    planned = plan_variants(options.slim, bool(cli.stage_config.get("slim_handler", False)))
    variant_count = 1 if options.zip_path else len(planned)
    packages = 1 if options.zip_path else variant_count * len(packagings_for(modes))
    main_steps = variant_count * len(modes) * options.environments * (3 if options.proactive else 2)
    slim_count = int(options.archive_path is not None) if options.zip_path else sum(planned)
    unpack_steps = slim_count if options.unpack_runs else 0
    progress = Progress(packages + variant_count + main_steps + unpack_steps + (len(modes) if options.burst else 0)
                        + 1)
    for line in environment.lines():
        progress.note(line)
    function = function_spec(cli, options, environment)
    warmup = warmup_requests(cli, options.paths)
    work = Path(tempfile.mkdtemp(prefix="zappa-bench-"))
    measured = Measured()
    phases = PhaseClock()
    try:
        with phases.phase("packaging"):
            variants = prepare_variants(cli, options, project, output, work, progress)
        with phases.phase("task roots"):
            for variant in variants:
                derive_task_roots(cli, variant, modes, warmup, work)
                progress.step(f"{variant.name}: task roots for {len(modes)} modes")
        window = CpuWindow()
        for variant in variants:
            result = measure_variant(variant, options, function, progress, measured, phases,
                                     primary=variant is variants[0])
            if variant.slim and options.unpack_runs:
                progress.note(f"{variant.name}: archive phase, upstream's unpack vs zappa-eager's "
                              f"({options.unpack_runs} runs each, alternated)")
                with phases.phase("archive phase"):
                    result.archive_unpack = measure_archive_phase(
                        variant, runs=options.unpack_runs, project_name=project_name(cli, variant, modes),
                        workdir=work / variant.name / "unpack")
                progress.step(f"{variant.name}: archive phase")
        contention = window.result()
    finally:
        progress.finish()
        if options.keep_work:
            progress.note(f"packages and task roots kept in {work}")
        else:
            progress.note("deleting packages and task roots")
            shutil.rmtree(work, ignore_errors=True)

    settings = {
        "environments": options.environments, "warm_requests": options.warm, "paths": list(options.paths),
        "burst_requests": options.burst, "burst_prewarmed": options.burst_envs, "slim": options.slim,
        "modes": list(modes), "warmup_on_demand": list(options.warmup_on_demand),
        "proactive": options.proactive, "lmi": {"processes": options.lmi, "result": measured.lmi},
        "quick": options.quick, "memory_mb": function.memory_mb,
        "timeout_s": function.timeout_s, "event": function.event_kind,
        "init_timeout_s": options.init_limit_s or INIT_TIMEOUT_S, "cache": options.cache,
        "warmup": [w.as_dict() for w in warmup], "zip": str(options.zip_path) if options.zip_path else None,
        "emulator": measured.isolation, "idle_s": options.idle_s, "unpack_runs": options.unpack_runs,
        "packaging": {mode: variants[0].package_for(mode).packaging for mode in modes},
        "environment": environment.as_dict(),
    }
    primary = variants[0].name
    with phases.phase("report"):
        document = build_document(stage=options.stage, function=function.name, modes=modes,
                                  variants=measured.variants, primary=primary, burst=measured.burst,
                                  burst_variant=primary if measured.burst else None, imports=measured.imports,
                                  machine=machine_info(), settings=settings, contention=contention,
                                  burst_contention=measured.burst_contention, phases=phases.as_dict())
        json_path = write_document(document, output / "bench.json")
        png_path = draw_chart(document, output / "bench.png")
    document["phases"] = phases.as_dict()  # with the report's own time (bench.json is rewritten below)
    write_document(document, json_path)
    print(render_table(document))
    print(f"\nwrote {json_path} and {png_path}")
    # A baseline's timeouts are measurements (document["limits"]); failures are zappa-eager's modes failing,
    # the app answering 5xx, an environment that could not serve.
    return 1 if document["errors"] else 0
