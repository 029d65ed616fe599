"""``zappa bench``: the first request on a new Lambda environment, upstream zappa versus zappa-eager.

Measured on this machine with the local Lambda emulator (the real awslambdaric, a fresh
process per environment), from the project's own package - no AWS account needed.

Modules, one job each: ``options`` (arguments), ``prerequisites`` (checked first),
``modes``, ``variants`` (per slim_handler value, upstream's package and zappa-eager's;
derive the four modes), ``derive`` (zappa-eager's package from upstream's: packaged once),
``packagecache`` (packages reused while nothing they are made of changed), ``environment``
(the stage's variables the bench keeps: none that point outside this machine), ``function``
(the emulated function and its S3), ``runner`` (fresh environments, round-robin; a baseline's
timeouts are measurements), ``burst``, ``importtime``, ``archivephase`` (``unpack``:
upstream's slim_handler unpack against ours), ``stats``, ``records``, ``document``
(bench.json), ``table``, ``chart`` (bench.png), ``progress``, ``machine``, ``contention``
(the CPU other processes took), ``phases`` (seconds per phase); ``command`` runs them in
order. Tooling: never imported inside Lambda.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from click import ClickException

if TYPE_CHECKING:
    from zappa_eager.bench.stagecli import StageCLI


def run_bench_command(cli: StageCLI, argv: list[str]) -> int:
    """Entry of ``zappa bench STAGE [options]`` (``EagerZappaCLI.handle`` dispatches here)."""
    from zappa_eager.bench.command import run
    from zappa_eager.bench.options import parse_options

    try:
        options = parse_options(list(argv))
    except SystemExit as exc:  # argparse: --help, or a bad argument (already explained on stderr)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return run(cli, options)
    except ClickException as exc:  # bad zappa_settings: shown like every zappa command shows it
        exc.show()
        return exc.exit_code


__all__ = ["run_bench_command"]
