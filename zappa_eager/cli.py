"""``EagerZappaCLI``: upstream's ``ZappaCLI`` with only the overrides eager init needs.

* ``load_settings`` validates the ``eager_*`` keys before upstream creates any AWS client;
* ``create_package`` puts our handler at the zip root (normal and slim_handler zips) and
  makes sure the ``zappa_eager`` runtime modules are inside the package;
* ``get_zappa_settings_string`` appends the eager keys to the generated zappa_settings.py;
* ``handle`` answers ``--version``, runs the commands of ``EXTRA_COMMANDS`` (``bench``, ...) and lists
  them in upstream's ``--help`` under a zappa-eager header.

Everything else is upstream's. Tooling module: never imported inside Lambda.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

import zappa.cli as upstream_cli
from click import ClickException
from zappa.cli import ZappaCLI
from zappa.utilities import get_runtime_from_python_version

import zappa_eager
from zappa_eager.guard import PTH_NAME, parser_hook
from zappa_eager.packaging.bytecode import runtime_mismatch
from zappa_eager.packaging.facts import PackageFacts, describe_package
from zappa_eager.packaging.optimize import (
    OptimizeResult,
    PackageSteps,
    bytecode_summary,
    lean_summary,
    optimize_archive,
)
from zappa_eager.packaging.runtime_files import HANDLER_FILE, add_runtime_to_zip, copy_runtime
from zappa_eager.patching import patched
from zappa_eager.provisioning import ProvisionedConcurrencyMixin
from zappa_eager.settings import (
    EagerSettings,
    EagerSettingsError,
    check_stage,
    render_settings_lines,
)

#: The commands zappa-eager adds to upstream's: name -> (one line of help, "module:function").
#: Each function takes ``(cli, argv)`` (argv after the command name) and returns the exit status;
#: its module is imported only when the command runs, and never imports this one (the CLI is passed in).
EXTRA_COMMANDS: dict[str, tuple[str, str]] = {
    "bench": ("Benchmark the stage's cold starts locally: upstream Zappa versus zappa-eager, side by side.",
              "zappa_eager.bench:run_bench_command"),
    "revert-to-upstream": ("Take a stage back to plain upstream Zappa, in order (--dry-run lists every AWS change).",
                           "zappa_eager.provisioning.revert:run_revert_command"),
    "coldstarts": ("Summarize the stage's real cold starts from its CloudWatch Logs: per version, before/after "
                   "zappa-eager.", "zappa_eager.coldstarts:run_coldstarts_command"),
}


def load_command(name: str) -> Callable[[EagerZappaCLI, list[str]], int]:
    """The entry function of one of zappa-eager's own commands (``EXTRA_COMMANDS``)."""
    module_name, _, function = EXTRA_COMMANDS[name][1].partition(":")
    entry: Callable[[EagerZappaCLI, list[str]], int] = getattr(importlib.import_module(module_name), function)
    return entry


def version_string() -> str:
    return f"zappa-eager {zappa_eager.__version__} (extends zappa {dist_version('zappa')})"


class EagerZappaCLI(ProvisionedConcurrencyMixin, ZappaCLI):  # type: ignore[misc]
    """The ``zappa`` command of zappa-eager."""

    eager: EagerSettings = EagerSettings()
    #: Facts of the package the last ``create_package`` optimized (None when it ran upstream's only).
    package_facts: PackageFacts | None = None

    # -- entry ---------------------------------------------------------------------------
    def handle(self, argv: list[str] | None = None) -> Any:
        args = list(sys.argv[1:] if argv is None else argv)
        if args and args[0] in ("-v", "--version"):
            print(version_string())
            return 0
        if args and args[0] in EXTRA_COMMANDS:
            return load_command(args[0])(self, args[1:])
        with parser_hook(upstream_cli, self.describe_parser):
            return super().handle(argv)

    def describe_parser(self, parser: argparse.ArgumentParser) -> None:
        """Upstream's top-level parser, as zappa-eager's: its header and version, and its commands listed."""
        parser.description = (
            f"{version_string()}: Zappa with eager initialization. This `zappa` is zappa-eager's CLI: upstream "
            f"Zappa's commands (deploy Python applications to AWS Lambda and API Gateway) plus its own: "
            f"{', '.join(EXTRA_COMMANDS)}."
        )
        for action in parser._actions:
            if "--version" in action.option_strings:
                action.version = version_string()  # type: ignore[attr-defined]
                action.help = "Print the zappa-eager and zappa versions"
            if isinstance(action, argparse._SubParsersAction):
                for name, (line, _) in EXTRA_COMMANDS.items():
                    if name not in action.choices:
                        command = action.add_parser(name, help=line.replace("%", "%%"), add_help=False)
                        command.add_argument("arguments", nargs=argparse.REMAINDER, action=_RunExtraCommand,
                                             cli=self, command=name)

    def check_for_update(self) -> None:
        """No PyPI query: upstream's advice to ``pip install zappa --upgrade`` would leave the tested zappa range.

        Upstream asks pypi.org for a newer zappa before every command; zappa-eager pins zappa to the
        range its overrides are tested with, and its commands stay offline unless they talk to AWS.
        """
        return None

    # -- settings ------------------------------------------------------------------------
    def load_settings(self, settings_file: str | None = None, session: Any = None) -> Any:
        """Check every key of the stage (all problems in one error), warn once about misspelt upstream keys."""
        self.load_settings_file(settings_file)
        if self.api_stage in self.zappa_settings:
            failed: EagerSettingsError | None = None
            try:
                checked = check_stage(self.stage_config, self.api_stage, get_runtime_from_python_version())
            except EagerSettingsError as exc:
                failed = exc
            warned: set[str] = self.__dict__.setdefault("_eager_warned", set())  # once per command
            for warning in failed.warnings if failed else checked.warnings:
                if warning not in warned:
                    warned.add(warning)
                    print(f"zappa-eager: warning: {warning}", file=sys.stderr)
            if failed:
                raise ClickException(str(failed)) from failed
            self.eager = checked.eager
        return super().load_settings(settings_file, session)

    def get_zappa_settings_string(self) -> str:
        settings = str(super().get_zappa_settings_string())  # upstream is untyped
        if not self.eager.enabled:
            return settings
        return settings + render_settings_lines(self.eager, self.stage_config.get("snap_start"))

    # -- packaging -----------------------------------------------------------------------
    def create_package(self, output: str | None = None, use_zappa_release: str | None = None) -> None:
        self.package_facts = None
        with self._without_guard_pth(), self._stage_precompiled_packages():
            if not self.eager.enabled:
                super().create_package(output, use_zappa_release)
            else:
                with self._eager_handler_in_package():
                    super().create_package(output, use_zappa_release)
                slim = self.stage_config.get("slim_handler", False)
                add_runtime_to_zip(self.handler_path if slim else self.zip_path)
        self.optimize_packages()

    @contextmanager
    def _without_guard_pth(self) -> Iterator[None]:
        """No package carries the guard's ``.pth`` (zappa_eager/guard.py): it serves the CLI only."""
        create_lambda_zip = self.zappa.create_lambda_zip

        def create_lambda_zip_without_guard(*args: Any, **kwargs: Any) -> Any:
            kwargs["exclude"] = [*(kwargs.get("exclude") or []), PTH_NAME]
            return create_lambda_zip(*args, **kwargs)

        with patched(self.zappa, "create_lambda_zip", create_lambda_zip_without_guard):
            yield

    @contextmanager
    def _stage_precompiled_packages(self) -> Iterator[None]:
        """Every zip upstream builds honours the stage's ``use_precompiled_packages``.

        With ``slim_handler``, upstream builds the handler zip without passing it, so the default
        (true) applies: a stage that set it to false still has every installed distribution looked
        up on pypi.python.org and swapped for a downloaded manylinux wheel. Left unset, nothing changes.
        """
        if "use_precompiled_packages" not in self.stage_config:
            yield
            return
        stage_value = bool(self.stage_config["use_precompiled_packages"])
        create_lambda_zip = self.zappa.create_lambda_zip

        def create_lambda_zip_as_staged(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("use_precompiled_packages", stage_value)
            return create_lambda_zip(*args, **kwargs)

        with patched(self.zappa, "create_lambda_zip", create_lambda_zip_as_staged):
            yield

    def package_steps(self) -> PackageSteps:
        """The packaging steps of this stage (``parse_eager_settings`` defaults them to ``eager_init``)."""
        eager = self.eager
        compile_bytecode = eager.compile_bytecode
        mismatch = runtime_mismatch(str(getattr(self, "runtime", "") or "")) if compile_bytecode else None
        if mismatch:
            print(f"zappa-eager: {mismatch}")
            compile_bytecode = False
        return PackageSteps(compile_bytecode=compile_bytecode, lean=eager.lean_package, lean_keep=eager.lean_keep,
                            project_dir=Path.cwd())

    def optimize_packages(self) -> list[OptimizeResult]:
        """Lean selection and bytecode on every archive ``create_package`` wrote (in place)."""
        steps = self.package_steps()
        if not (steps.compile_bytecode or steps.lean):
            return []
        slim = bool(self.stage_config.get("slim_handler", False))
        results = []
        if slim:
            project = str(self.stage_config.get("project_name") or getattr(self, "project_name", "") or "")
            results.append(optimize_archive(Path(self.zip_path), steps, display_root=f"/tmp/{project}"))
            handler_steps = dataclasses.replace(steps, user_roots=False)
            results.append(optimize_archive(Path(self.handler_path), handler_steps, display_root="/var/task"))
        else:
            results.append(optimize_archive(Path(self.zip_path), steps, display_root="/var/task"))
        for line in (lean_summary(results), bytecode_summary(results)):
            if line:
                print(f"zappa-eager: {line}")
        package = Path(self.handler_path if slim else self.zip_path)
        facts = describe_package(package, Path(self.zip_path) if slim else None)
        print(f"zappa-eager: package {facts.summary()}")
        self.package_facts = facts
        return results

    @contextmanager
    def _eager_handler_in_package(self) -> Iterator[None]:
        """Swap upstream's handler.py for ours while upstream builds the zip(s)."""
        zappa = self.zappa
        create_lambda_zip: Callable[..., Any] = zappa.create_lambda_zip
        create_handler_venv: Callable[..., Any] = zappa.create_handler_venv

        def eager_lambda_zip(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("handler_file"):
                kwargs["handler_file"] = str(HANDLER_FILE)
            return create_lambda_zip(*args, **kwargs)

        def eager_handler_venv(*args: Any, **kwargs: Any) -> Any:
            venv = create_handler_venv(*args, **kwargs)
            _copy_runtime_into_venv(Path(venv))
            return venv

        with (
            patched(zappa, "create_lambda_zip", eager_lambda_zip),
            patched(zappa, "create_handler_venv", eager_handler_venv),
        ):
            yield


class _RunExtraCommand(argparse.Action):
    """One of ``EXTRA_COMMANDS`` reached through upstream's parser (``zappa --color never bench ...``)."""

    def __init__(self, *args: Any, cli: EagerZappaCLI, command: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cli = cli
        self.command = command

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        raise SystemExit(load_command(self.command)(self.cli, list(values or [])))


def _copy_runtime_into_venv(venv: Path) -> None:
    """Upstream copies ``zappa*`` from site-packages; an editable install has no package there."""
    for site_packages in venv.glob("lib/python*/site-packages"):
        target = site_packages / "zappa_eager"
        if not (target / "runtime" / "boot.py").exists():
            copy_runtime(target)


def handle() -> None:  # pragma: no cover - console-script entry, exercised by the e2e tests
    """Console-script entry (``zappa`` and ``zappa-eager``), as upstream's ``zappa.cli.handle``."""
    import zappa.cli as upstream_cli

    upstream_cli.ZappaCLI = EagerZappaCLI
    upstream_cli.handle()
