"""``zappa coldstarts STAGE``: a team's real cold starts on AWS, from the function's CloudWatch Logs.

Modules, one job each: ``options`` (arguments, the time window), ``stage`` (function, log
group and aliases through the CLI's settings), ``records`` (REPORT lines in the text and JSON
log formats, failed INITs, zappa-eager's init reports), ``aggregate`` (exact per-version
histograms and percentiles, bounded memory), ``insights`` (Logs Insights queries) and
``filter`` (the FilterLogEvents fallback), ``calls`` (retries on throttling), ``errors``,
``progress``, ``document`` (coldstarts.json), ``table``, ``chart`` (coldstarts.png);
``command`` runs them in order. Tooling: never imported inside Lambda.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from click import ClickException

if TYPE_CHECKING:
    from zappa_eager.cli import EagerZappaCLI


def run_coldstarts_command(cli: EagerZappaCLI, argv: list[str]) -> int:
    """Entry of ``zappa coldstarts STAGE [options]`` (``EagerZappaCLI.handle`` dispatches here)."""
    from zappa_eager.coldstarts.command import run
    from zappa_eager.coldstarts.options import parse_options

    try:
        options = parse_options(list(argv))
        return run(cli, options)
    except SystemExit as exc:  # argparse: --help, or a bad argument (already explained on stderr)
        return exc.code if isinstance(exc.code, int) else 2
    except ClickException as exc:  # bad settings, AWS refusals, an empty window: explained, exit 1
        exc.show()
        return exc.exit_code


__all__ = ["run_coldstarts_command"]
