"""The guard against a silently upstream ``zappa``: loaded only by ``_zappa_eager_guard.pth``.

zappa-eager's wheel and upstream zappa's both install a ``zappa`` script, and the last install
wins: ``pip install --force-reinstall zappa`` (or any tool that reinstalls or upgrades zappa)
leaves upstream's CLI on the PATH, which ignores every zappa-eager setting and builds upstream's
package with exit status 0. Upstream's CLI process loads no plugins and no entry points, so the
only hook left to us there is a ``.pth`` file in site-packages. Its one line runs on every
Python start but costs one string comparison: it imports this module only when the running
program is a script named ``zappa`` (docs/install.md has the trade-off).

Here, once ``zappa.cli`` is imported, upstream's ``ZappaCLI`` (exactly that class: zappa-eager's
subclass passes through untouched) says which CLI is active in ``--help`` and on stderr, and
refuses to build or deploy a stage that sets zappa-eager settings, naming the command that puts
zappa-eager's CLI back. Tooling module: never imported inside Lambda.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import shlex
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import metadata
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

#: The file the wheel installs at the root of site-packages (setup.py writes it; docs/install.md).
PTH_NAME = "_zappa_eager_guard.pth"
#: Its one line. ``site`` runs lines that start with ``import``; everything after is a cheap test.
PTH_LINE = ("import os, sys; os.path.basename((getattr(sys, 'argv', None) or [''])[0]).removesuffix('.exe') == 'zappa'"
            " and __import__('zappa_eager.guard').guard.install()\n")
#: Upstream commands that build a package or deploy one: these stop on a zappa-eager stage.
GUARDED_COMMANDS = frozenset({"package", "deploy", "update", "save-python-settings-file"})
DIST = "zappa-eager"
UPSTREAM_MODULE = "zappa.cli"
_INSTALLED = "_zappa_eager_guard_installed"


# -- what is installed, and the command that puts zappa-eager's CLI back ----------------------------
def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def zappa_in_range() -> bool:
    """Whether the installed zappa is one zappa-eager's metadata accepts (then zappa-eager's CLI works with it)."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requires = metadata.requires(DIST) or []
    except metadata.PackageNotFoundError:
        return True
    for text in requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.name.lower() == "zappa" and requirement.marker is None:
            return requirement.specifier.contains(_version("zappa"), prereleases=True)
    return True


def _install_source() -> str:
    """What to hand pip: where zappa-eager was installed from (PEP 610), else its name and version."""
    pinned = f"{DIST}=={_version(DIST)}"
    try:
        text = metadata.distribution(DIST).read_text("direct_url.json")
        direct = json.loads(text) if text else {}
    except (metadata.PackageNotFoundError, ValueError):
        return pinned
    url = str(direct.get("url", ""))
    if not url:
        return pinned
    if "vcs_info" in direct:
        vcs = direct["vcs_info"]
        commit = vcs.get("commit_id") or vcs.get("requested_revision")
        return shlex.quote(f"{vcs.get('vcs', 'git')}+{url}" + (f"@{commit}" if commit else ""))
    if not url.startswith("file:"):
        return shlex.quote(url)
    from urllib.request import url2pathname  # only here: this module loads in every `zappa` process

    path = url2pathname(urlsplit(url).path)
    if not os.path.exists(path):  # a wheel or clone since deleted: the index is what is left
        return pinned
    editable = bool(direct.get("dir_info", {}).get("editable"))
    return f"-e {shlex.quote(path)}" if editable else shlex.quote(path)


def fix_command() -> str:
    """The one command that makes ``zappa`` zappa-eager's again."""
    source = _install_source()
    if zappa_in_range():
        return f"pip install --force-reinstall --no-deps {source}"
    # The reinstalled zappa is one zappa-eager does not support: let pip bring a supported one back too.
    return f"pip install --force-reinstall {source}"


def active_note() -> str:
    """One line for stderr: which CLI this ``zappa`` is, and how to get zappa-eager's back."""
    return (f"zappa-eager: this `zappa` is upstream Zappa's CLI (zappa {_version('zappa')}), not zappa-eager's: "
            f"zappa was reinstalled after zappa-eager {_version(DIST)} and replaced its script. "
            f"zappa-eager's settings and commands are off until you run: {fix_command()}")


# -- the check --------------------------------------------------------------------------------------
def eager_keys_of(stage_config: Mapping[str, Any]) -> list[str]:
    """The stage's keys that only zappa-eager reads (upstream ignores them silently)."""
    ours: tuple[str, ...] = ()
    try:
        from zappa_eager.settings import EAGER_KEYS as ours
    except Exception:  # pragma: no cover - the guard must not fail because settings.py cannot be imported
        pass
    found = [key for key in stage_config if key in ours or str(key).startswith("eager_")]
    if isinstance(stage_config.get("provisioned_concurrency"), Mapping):
        found.append("provisioned_concurrency")  # the object form (min/max/...) is zappa-eager's
    return sorted(found)


def refusal(command: str, stage: str, keys: Sequence[str]) -> str:
    """The error for building or deploying a zappa-eager stage with upstream's CLI."""
    shown = ", ".join(keys)
    alias = f" (zappa-eager's CLI is still installed as `zappa-eager`: `zappa-eager {command} {stage}` works meanwhile)"
    return (f"stage '{stage}' sets zappa-eager settings ({shown}), but this `zappa` is upstream Zappa's CLI "
            f"(zappa {_version('zappa')}): zappa was reinstalled after zappa-eager {_version(DIST)} and replaced "
            f"its `zappa` script, and upstream's `{command}` would ignore those settings and build upstream's "
            f"package (no eager handler, no bytecode, no lean step). Fix: {fix_command()}"
            + (alias if zappa_in_range() else ""))


def _is_upstream(cli: Any, upstream_class: type) -> bool:
    return type(cli) is upstream_class


def wrap_upstream_cli(module: ModuleType) -> None:
    """Make upstream's ``ZappaCLI`` (in the just-imported ``zappa.cli``) say what it is, and refuse."""
    upstream_class = getattr(module, "ZappaCLI", None)
    if upstream_class is None or getattr(upstream_class, _INSTALLED, False):
        return
    click_exception: Callable[[str], Exception] = module.ClickException
    original_handle = upstream_class.handle
    original_dispatch = upstream_class.dispatch_command

    def handle(self: Any, argv: list[str] | None = None) -> Any:
        if not _is_upstream(self, upstream_class):
            return original_handle(self, argv)
        print(active_note(), file=sys.stderr)
        with parser_hook(module, _note_in_help):
            return original_handle(self, argv)

    def dispatch_command(self: Any, command: str, stage: str) -> Any:
        if _is_upstream(self, upstream_class) and command in GUARDED_COMMANDS:
            keys = _stage_keys(self, stage)
            if keys:
                raise click_exception(refusal(command, stage, keys))
        return original_dispatch(self, command, stage)

    upstream_class.handle = handle
    upstream_class.dispatch_command = dispatch_command
    setattr(upstream_class, _INSTALLED, True)


def _stage_keys(cli: Any, stage: str) -> list[str]:
    """The zappa-eager keys of ``stage`` (after ``extends``); [] when upstream will report the stage itself."""
    previous = getattr(cli, "api_stage", None)
    try:
        cli.api_stage = stage
        return eager_keys_of(cli.stage_config)
    except Exception:  # an undefined stage or a broken extends chain: upstream's own error follows
        return []
    finally:
        cli.api_stage = previous


class ParserHook:
    """Stands in for the ``argcomplete`` module in ``zappa.cli`` while upstream's ``handle`` runs.

    Upstream calls ``argcomplete.autocomplete(parser)`` once, with the finished top-level parser,
    right before parsing: the one place to change its help and add commands without copying
    ``handle``. ``on_parser`` edits the parser; completion itself stays argcomplete's.
    """

    def __init__(self, real: Any, on_parser: Callable[[Any], None]) -> None:
        self._real = real
        self._on_parser = on_parser

    def autocomplete(self, parser: Any, *args: Any, **kwargs: Any) -> Any:
        self._on_parser(parser)
        return self._real.autocomplete(parser, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextmanager
def parser_hook(module: ModuleType, on_parser: Callable[[Any], None]) -> Iterator[None]:
    """For the duration, upstream's ``handle`` (in ``module``) passes its parser to ``on_parser`` first."""
    real = getattr(module, "argcomplete")  # noqa: B009 - zappa.cli's import of the argcomplete module
    setattr(module, "argcomplete", ParserHook(real, on_parser))  # noqa: B010
    try:
        yield
    finally:
        setattr(module, "argcomplete", real)  # noqa: B010


def _note_in_help(parser: Any) -> None:
    parser.description = f"{parser.description or ''}\n{active_note()}"


# -- the import hook --------------------------------------------------------------------------------
class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs ``wrap_upstream_cli`` right after ``zappa.cli`` executes, then leaves ``sys.meta_path``."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname != UPSTREAM_MODULE:
            return None
        _remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = getattr(spec, "loader", None)
        exec_module = getattr(loader, "exec_module", None)
        if spec is None or exec_module is None:
            return spec

        def exec_then_wrap(module: ModuleType) -> None:
            exec_module(module)
            wrap_upstream_cli(module)

        loader.exec_module = exec_then_wrap  # type: ignore[union-attr]
        return spec


def _remove(finder: object) -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if f is not finder]


def _script_is_ours(path: str) -> bool:
    """The running ``zappa`` script imports zappa-eager's CLI (pip's generated scripts are a few lines)."""
    try:
        with open(path, "rb") as script:
            return b"zappa_eager" in script.read(4096)
    except OSError:
        return False


def install(argv: Iterable[str] | None = None) -> None:
    """Called by the ``.pth`` line in a ``zappa`` process: nothing to do unless the script is upstream's."""
    args = list(sys.argv if argv is None else argv)
    if not args or _script_is_ours(args[0]) or os.environ.get("ZAPPA_EAGER_GUARD") == "off":
        return
    if UPSTREAM_MODULE in sys.modules:
        wrap_upstream_cli(sys.modules[UPSTREAM_MODULE])
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())
