"""A lean package: leave out what the Lambda runtime never imports.

Zappa packages the whole virtualenv. Where a user has installed ``zappa-eager[bench]`` (moto,
matplotlib, cfn-lint, sympy, ...), and always for zappa's CLI-only dependencies (troposphere,
pip, setuptools, ...), that ships hundreds of MB that no request ever touches, past Lambda's
250 MB limit. The selection is computed from the packaged distributions' own metadata
(``*.dist-info``): everything the project needs, directly or through another distribution,
stays; only what is reachable solely from tooling goes.

What the project needs (the *roots*):
* distributions installed on request (pip's ``REQUESTED`` marker), those no other
  distribution requires, and those named in the project's ``requirements.txt`` or
  ``pyproject.toml``;
* distributions providing a top-level module that the project's own code imports;
* the stage's ``lean_keep`` names;
* zappa's runtime dependencies (what ``zappa.handler`` imports).
Tooling (never a root unless the project asks for it as above): zappa-eager's extras and
zappa's CLI-only dependencies. zappa-eager's own tooling modules are dropped too.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import Distribution, PathDistribution
from importlib.metadata import distribution as installed_distribution
from pathlib import Path, PurePosixPath

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from zappa_eager.packaging.runtime_files import runtime_modules

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: requirements.txt and the metadata still apply
    tomllib = None

#: What ``zappa.handler`` and the modules it imports need at run time (zappa.utilities imports
#: boto3, botocore and durationpy; zappa.middleware and the WSGI path werkzeug). Every other
#: requirement of zappa serves its CLI, ``requests`` included: zappa.utilities imports it only
#: inside ``check_new_version_available``, which the CLI calls. A project that uses requests
#: keeps it as any other distribution (its code imports it, it is in requirements.txt, or
#: another kept distribution requires it). Left in, it costs a DRF app about 35 ms of every cold
#: start: ``rest_framework.compat`` imports it (and urllib3, charset_normalizer, idna) if present.
ZAPPA_RUNTIME_REQUIRES = frozenset({"boto3", "botocore", "durationpy", "werkzeug", "jmespath", "python-dateutil"})
#: Installers: never needed by the runtime, never a root by being unrequired.
INSTALLERS = frozenset({"pip", "setuptools", "wheel", "distribute"})
ZAPPA = "zappa"
ZAPPA_EAGER = "zappa-eager"

_IMPORT_RE = re.compile(r"^\s*(?:from\s+([A-Za-z_][\w]*)[\w.]*\s+import|import\s+([A-Za-z_][\w., ]*))", re.M)


@dataclass(frozen=True)
class PackagedDistribution:
    """One ``*.dist-info`` inside the package, read through importlib.metadata."""

    name: str  # canonical
    display: str
    version: str
    info_dir: str  # relative to the package root
    requires: tuple[str, ...]
    files: frozenset[str]  # package-relative POSIX paths (RECORD), inside the package only
    requested: bool

    @property
    def top_levels(self) -> frozenset[str]:
        return frozenset(path.split("/")[0] for path in self.files)


def _record_files(dist: Distribution) -> frozenset[str]:
    files = set()
    for entry in dist.files or ():
        path = PurePosixPath(str(entry).replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts:
            continue  # scripts and data outside site-packages (``../../bin/...``)
        files.add(path.as_posix())
    return frozenset(files)


def read_distributions(root: Path) -> dict[str, PackagedDistribution]:
    """Every distribution whose ``*.dist-info`` sits at the package root."""
    found: dict[str, PackagedDistribution] = {}
    for info in sorted(root.glob("*.dist-info")):
        dist = PathDistribution(info)
        display = dist.metadata["Name"]
        if not display:
            continue
        name = canonicalize_name(display)
        found[name] = PackagedDistribution(
            name=name, display=display, version=dist.version or "", info_dir=info.name,
            requires=tuple(dist.requires or ()), files=_record_files(dist),
            requested=(info / "REQUESTED").exists(),
        )
    return found


def _parse(requirement: str) -> Requirement | None:
    try:
        return Requirement(requirement)
    except InvalidRequirement:
        return None


def requirements_of(dist: PackagedDistribution, extras: Iterable[str], env: Mapping[str, str]) -> set[tuple[str, str]]:
    """(name, extra) pairs that ``dist`` with ``extras`` requires; extra "" is the base."""
    wanted = {""} | set(extras)
    needed: set[tuple[str, str]] = set()
    for text in dist.requires:
        requirement = _parse(text)
        if requirement is None:
            continue
        for extra in wanted:
            marker_env = dict(env, extra=extra)
            if requirement.marker is None or requirement.marker.evaluate(marker_env):
                name = canonicalize_name(requirement.name)
                needed.add((name, ""))
                needed.update((name, e) for e in requirement.extras)
                break
    return needed


def _edges(dist: PackagedDistribution, extras: Iterable[str], env: Mapping[str, str]) -> set[tuple[str, str]]:
    if dist.name == ZAPPA:  # zappa's runtime needs only; the rest serves its CLI
        return {(n, e) for n, e in requirements_of(dist, (), env) if n in ZAPPA_RUNTIME_REQUIRES}
    if dist.name == ZAPPA_EAGER:  # only zappa; our extras are tooling
        return {(ZAPPA, "")}
    return requirements_of(dist, extras, env)


def closure(roots: Iterable[str], dists: Mapping[str, PackagedDistribution], env: Mapping[str, str]) -> set[str]:
    """Names of ``roots`` and every packaged distribution they require, transitively."""
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[str, str]] = [(str(canonicalize_name(r)), "") for r in roots]
    while todo:
        item = todo.pop()
        if item in seen or item[0] not in dists:
            continue
        seen.add(item)
        name, extra = item
        todo.extend(_edges(dists[name], [extra] if extra else [], env) - seen)
    return {name for name, _ in seen}


def project_requirement_names(project_dir: Path | None) -> set[str]:
    """Names in the project's ``requirements.txt`` and ``pyproject.toml`` ``[project].dependencies``."""
    names: set[str] = set()
    if project_dir is None:
        return names
    requirements = project_dir / "requirements.txt"
    if requirements.is_file():
        for line in requirements.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                requirement = _parse(line)
                if requirement is not None:
                    names.add(canonicalize_name(requirement.name))
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file() and tomllib is not None:
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            data = {}
        for text in data.get("project", {}).get("dependencies", []) or []:
            requirement = _parse(str(text))
            if requirement is not None:
                names.add(canonicalize_name(requirement.name))
    return names


def imported_top_levels(root: Path, skip: set[str]) -> set[str]:
    """Top-level module names imported by the project's own ``.py`` files (not those of distributions)."""
    names: set[str] = set()
    for entry in root.iterdir():
        if entry.name in skip or entry.name.endswith((".dist-info", ".egg-info")) or entry.name == "__pycache__":
            continue
        paths = [entry] if entry.is_file() else (entry.rglob("*.py") if entry.is_dir() else [])
        for path in paths:
            if path.suffix != ".py":
                continue
            for match in _IMPORT_RE.finditer(path.read_text(encoding="utf-8", errors="replace")):
                if match.group(1):
                    names.add(match.group(1))
                else:
                    names.update(part.strip().split(" ")[0].split(".")[0] for part in match.group(2).split(","))
    return names


def tooling_names(dists: Mapping[str, PackagedDistribution]) -> set[str]:
    """zappa-eager's extras and zappa's CLI-only requirements (by name)."""
    names = set(INSTALLERS)
    try:
        ours = tuple(installed_distribution(ZAPPA_EAGER).requires or ())
    except Exception:  # not installed as a distribution (a bare checkout on sys.path)
        ours = ()
    if ZAPPA_EAGER in dists:
        ours = ours + dists[ZAPPA_EAGER].requires
    for text in ours:
        requirement = _parse(text)
        if requirement is not None and requirement.marker is not None and "extra" in str(requirement.marker):
            names.add(canonicalize_name(requirement.name))
    if ZAPPA in dists:
        for text in dists[ZAPPA].requires:
            requirement = _parse(text)
            if requirement is not None and canonicalize_name(requirement.name) not in ZAPPA_RUNTIME_REQUIRES:
                names.add(canonicalize_name(requirement.name))
    names.discard(ZAPPA)
    return names


@dataclass
class LeanSelection:
    """What stays and what goes, and why."""

    keep: set[str]
    drop: set[str]
    roots: dict[str, str] = field(default_factory=dict)  # kept root -> why


def select(dists: Mapping[str, PackagedDistribution], *, keep_names: Iterable[str] = (),
           project_names: Iterable[str] = (), imported: Iterable[str] = (), user_roots: bool = True,
           env: Mapping[str, str] | None = None) -> LeanSelection:
    """Decide, from metadata alone, which packaged distributions the runtime can need."""
    env = dict(env) if env is not None else {k: str(v) for k, v in default_environment().items()}
    tooling = tooling_names(dists)
    roots: dict[str, str] = {}

    def root(name: str, why: str) -> None:
        name = canonicalize_name(name)
        if name in dists:
            roots.setdefault(name, why)

    for name in (ZAPPA, ZAPPA_EAGER):
        root(name, "runtime")
    for name in keep_names:
        root(name, "lean_keep")
    if user_roots:
        for name in project_names:
            root(name, "project requirement")
        by_module: dict[str, set[str]] = {}
        for dist in dists.values():
            for top in dist.top_levels:
                by_module.setdefault(top.removesuffix(".py"), set()).add(dist.name)
        for module in imported:
            for name in sorted(by_module.get(module, ())):
                if name not in INSTALLERS:
                    root(name, f"imported by the project ({module})")
        required = {n for d in dists.values() for n, _ in requirements_of(d, _all_extras(d), env)}
        for dist in dists.values():
            if dist.requested and dist.name not in INSTALLERS:
                root(dist.name, "installed on request")
            elif dist.name not in required and dist.name not in tooling:
                root(dist.name, "not required by anything else")
    keep = closure(roots, dists, env)
    return LeanSelection(keep=keep, drop=set(dists) - keep, roots=roots)


def _all_extras(dist: PackagedDistribution) -> list[str]:
    extras = []
    for text in dist.requires:
        match = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", text)
        if match:
            extras.append(match.group(1))
    return extras


@dataclass(frozen=True)
class Dropped:
    name: str
    version: str
    bytes: int


def _size(path: Path) -> int:
    if path.is_symlink() or not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _remove(path: Path) -> int:
    size = _size(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    return size


def remove_distributions(root: Path, dists: Mapping[str, PackagedDistribution], drop: Iterable[str]) -> list[Dropped]:
    """Delete the dropped distributions' files; a folder goes whole when no kept distribution owns it."""
    drop = set(drop)
    kept_files = {f for d in dists.values() if d.name not in drop for f in d.files}
    kept_tops = {f.split("/")[0] for f in kept_files}
    removed: list[Dropped] = []
    for name in sorted(drop):
        dist = dists[name]
        size = 0
        for top in sorted(dist.top_levels):
            if top not in kept_tops and top != dist.info_dir:
                size += _remove(root / top)
        for relative in sorted(dist.files):
            if relative not in kept_files and (root / relative).exists():
                size += _remove(root / relative)
        size += _remove(root / dist.info_dir)
        removed.append(Dropped(dist.display, dist.version, size))
    _prune_empty(root)
    return removed


def _prune_empty(root: Path) -> None:
    for folder, dirs, files in os.walk(root, topdown=False):
        if folder != str(root) and not dirs and not files:
            try:
                os.rmdir(folder)
            except OSError:
                pass


def remove_our_tooling(root: Path) -> int:
    """Drop zappa-eager's own tooling (CLI, settings, bench, emulator, packaging) from the package."""
    package = root / "zappa_eager"
    size = 0
    for path in root.glob("__editable__*zappa_eager*"):
        size += _remove(path)
    if not package.is_dir():
        return size
    runtime = set(runtime_modules())
    for path in sorted(package.rglob("*"), reverse=True):
        relative = path.relative_to(package).as_posix()
        if path.is_file() and relative not in runtime and "/__pycache__/" not in f"/{relative}":
            size += _remove(path)
        elif path.is_dir() and path.name == "__pycache__":
            size += _remove(path)
    _prune_empty(package)
    return size


@dataclass(frozen=True)
class LeanResult:
    dropped: tuple[Dropped, ...]
    tooling_bytes: int
    roots: Mapping[str, str]

    @property
    def total_bytes(self) -> int:
        return self.tooling_bytes + sum(d.bytes for d in self.dropped)


def make_lean(root: Path, *, keep_names: Iterable[str] = (), project_dir: Path | None = None,
              user_roots: bool = True) -> LeanResult:
    """Apply the lean selection to an unpacked package folder in place."""
    dists = read_distributions(root)
    owned = {top for d in dists.values() for top in d.top_levels} | {d.info_dir for d in dists.values()}
    selection = select(
        dists,
        keep_names=keep_names,
        project_names=project_requirement_names(project_dir) if user_roots else (),
        imported=imported_top_levels(root, owned) if user_roots else (),
        user_roots=user_roots,
    )
    dropped = remove_distributions(root, dists, selection.drop)
    return LeanResult(dropped=tuple(dropped), tooling_bytes=remove_our_tooling(root), roots=selection.roots)
