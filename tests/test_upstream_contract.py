"""What we rely on in upstream zappa (``zappa_eager/upstream.py``), against the installed zappa.

One test over the list: every entry exists with the form it names, with the parameters we pass,
mirror or override. Then the list's completeness, from our side: every member of upstream's our
classes define, every upstream attribute ``patched`` shadows, every upstream private name our
modules name, is in it. Last, the few things upstream *does* that we rely on (its source text).
A zappa release that renames or reorders any of it fails here, loudly.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import re
import textwrap
from collections.abc import Callable, Iterator
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import zappa
import zappa.cli
import zappa.core
import zappa.handler
from packaging.version import Version

from zappa_eager import upstream
from zappa_eager.upstream import USES, Use

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "zappa_eager"
LIST_FILE = "zappa_eager/upstream.py"

#: Names every class body defines: never an override of upstream's.
CLASS_BOOKKEEPING = frozenset({
    "__module__", "__doc__", "__dict__", "__weakref__", "__annotations__", "__qualname__", "__firstlineno__",
    "__static_attributes__", "__orig_bases__", "__parameters__", "__abstractmethods__", "_abc_impl",
})


def test_zappa_version_is_in_the_tested_range() -> None:
    assert Version("0.63.0") <= Version(version("zappa")) < Version("0.64")


# -- resolving an entry against the installed zappa ------------------------------------------------
def resolve_class(target: str) -> type:
    """``"zappa.cli:ZappaCLI"`` -> the class."""
    module_name, _, qualname = target.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    assert inspect.isclass(found), f"{target} is not a class"
    return found


def upstream_classes(cls: type) -> list[type]:
    """``cls`` and its bases that are upstream's (``object`` and the standard library's are not)."""
    return [k for k in cls.__mro__ if k.__module__.split(".")[0] == "zappa"]


@cache
def self_assigned(cls: type) -> frozenset[str]:
    """Attributes upstream's methods assign on ``self`` (instance attributes the class does not define)."""
    names: set[str] = set()
    for klass in upstream_classes(cls):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        for node in ast.walk(tree):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets = [node.target]
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name) and part.value.id == "self":
                        names.add(part.attr)
    return frozenset(names)


def defined(cls: type, name: str) -> bool:
    """Upstream's class (or an upstream base) defines ``name`` itself: inherited from ``object`` does not count."""
    return any(name in vars(k) for k in upstream_classes(cls))


def upstream_members(cls: type) -> frozenset[str]:
    own = {name for k in upstream_classes(cls) for name in vars(k)}
    return frozenset((own | self_assigned(cls)) - CLASS_BOOKKEEPING)


def parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    """Named parameters after ``self``/``cls`` (``*args``/``**kwargs`` left out)."""
    found = list(inspect.signature(function).parameters.values())
    if found and found[0].name in ("self", "cls"):
        found = found[1:]
    return [p for p in found if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def names(function: Callable[..., Any]) -> list[str]:
    return [p.name for p in parameters(function)]


def check_params(use: Use, function: Callable[..., Any]) -> None:
    found = names(function)
    if use.exact:
        assert found == list(use.params), f"{use.target}{found}: our wrapper mirrors {list(use.params)}"
    else:
        assert found[: len(use.params)] == list(use.params), f"{use.target}{found}: we pass {list(use.params)}"
    missing = [keyword for keyword in use.keywords if keyword not in found]
    assert missing == [], f"{use.target}{found}: we pass {missing} by keyword"


def compatible(ours: Callable[..., Any], theirs: Callable[..., Any]) -> list[str]:
    """Why ``ours`` cannot stand in for ``theirs`` (empty: it accepts every call upstream's accepts)."""
    problems = []
    ours_all = parameters(ours)
    theirs_all = parameters(theirs)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ours_pos = [p.name for p in ours_all if p.kind in positional]
    theirs_pos = [p.name for p in theirs_all if p.kind in positional]
    if ours_pos[: len(theirs_pos)] != theirs_pos:
        problems.append(f"positional {ours_pos} do not start with upstream's {theirs_pos}")
    theirs_names = {p.name for p in theirs_all}
    extra = [p.name for p in ours_all if p.name not in theirs_names and p.default is inspect.Parameter.empty]
    if extra:
        problems.append(f"{extra} have no default (upstream's callers never pass them)")
    ours_names = {p.name for p in ours_all}
    lost = [p.name for p in theirs_all if p.kind == p.KEYWORD_ONLY and p.name not in ours_names]
    if lost:
        problems.append(f"keyword-only {lost} not accepted")
    return problems


#: Our classes built on upstream's (``extend`` entries): upstream class -> ours.
def our_classes() -> dict[str, list[type]]:
    from zappa_eager.cli import EagerZappaCLI
    from zappa_eager.provisioning.mixin import ProvisionedConcurrencyMixin
    from zappa_eager.runtime.boot import EagerLambdaHandler

    return {
        upstream.ZAPPA_CLI: [EagerZappaCLI, ProvisionedConcurrencyMixin],
        upstream.LAMBDA_HANDLER: [EagerLambdaHandler],
    }


def source_path(cls: type) -> str:
    return Path(inspect.getfile(cls)).resolve().relative_to(REPO).as_posix()


def own_names(cls: type) -> set[str]:
    """What a class of ours defines itself: its body's names and its annotated attributes."""
    return (set(vars(cls)) | set(vars(cls).get("__annotations__", {}))) - CLASS_BOOKKEEPING


# -- the list, entry by entry ----------------------------------------------------------------------
@pytest.mark.parametrize("use", USES, ids=[f"{use.kind}:{use.target}" for use in USES])
def test_each_use_holds_for_the_installed_zappa(use: Use) -> None:
    for path in use.where:
        text = (REPO / path).read_text(encoding="utf-8")
        assert use.name in text, f"{path} does not name {use.name}: the entry is stale"
    if use.form == "module":
        spec = importlib.util.find_spec(use.module)
        assert spec is not None and spec.origin is not None and spec.origin.endswith(".py"), use.module
        assert Path(spec.origin).is_file(), f"{use.module}: no source file"
        return
    module = importlib.import_module(use.module)
    if use.owner is None:  # a global (a class, a function, a value)
        assert hasattr(module, use.name), f"{use.target} is gone"
        value = getattr(module, use.name)
        if use.form == "class":
            assert inspect.isclass(value), f"{use.target} is no longer a class"
        elif use.form == "function":
            assert inspect.isfunction(value), f"{use.target} is no longer a function"
            check_params(use, value)
        else:
            assert use.form == "value" and not inspect.isfunction(value), f"{use.target}: {value!r}"
        return
    cls = resolve_class(use.owner)
    static = inspect.getattr_static(cls, use.name, None)
    if use.form == "absent":
        assert use.name not in upstream_members(cls), f"upstream now has {use.target}: ours would collide"
        return
    if use.form == "method":
        assert defined(cls, use.name), f"{use.target} is gone"
        is_method = isinstance(static, (staticmethod, classmethod)) or inspect.isfunction(static)
        assert is_method, f"{use.target}: {static!r}"
        check_params(use, getattr(cls, use.name))
    elif use.form == "property":
        assert isinstance(static, property), f"{use.target} is no longer a property: {static!r}"
    else:
        assert use.form == "attribute"
        if defined(cls, use.name):
            assert not inspect.isfunction(static) and not isinstance(static, property), f"{use.target}: {static!r}"
        else:
            assert use.name in self_assigned(cls), f"{use.target}: neither a class attribute nor set on self"
    if use.kind == "override":
        ours = [klass for klass in our_classes()[use.owner] if use.name in vars(klass)]
        assert ours, f"{use.target}: listed as overridden, but no class of ours defines it"
        for klass in ours:
            assert source_path(klass) in use.where, f"{klass.__name__}.{use.name} overrides it: add its module"
            problems = compatible(getattr(klass, use.name), getattr(cls, use.name))
            assert problems == [], f"{klass.__name__}.{use.name} vs {use.target}: {problems}"


def test_each_entry_is_one_use_of_one_name() -> None:
    keys = [(use.target, use.kind) for use in USES]
    assert len(keys) == len(set(keys)), [key for key in keys if keys.count(key) > 1]
    for use in USES:
        assert use.where, use
        assert all((REPO / path).is_file() for path in use.where), use
        assert use.kind != "extend" or use.form == "class", use
        assert not (use.params or use.keywords) or use.form in ("method", "function"), use
        assert use.kind != "add" or use.form == "absent", use


def test_the_list_is_data_the_runtime_never_loads() -> None:
    """Standard library only, and nothing in the runtime folder names it."""
    tree = ast.parse((REPO / LIST_FILE).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert imported <= {"__future__", "dataclasses", "typing"}, imported
    for path in (PACKAGE / "runtime").rglob("*.py"):
        assert "zappa_eager.upstream" not in path.read_text(encoding="utf-8"), path


def test_the_signature_checks_catch_what_would_break() -> None:
    """The checkers themselves: a renamed, reordered or newly required parameter is caught."""
    def theirs(self: Any, settings_file: Any = None, session: Any = None) -> None: ...
    def renamed(self: Any, settings: Any = None, session: Any = None) -> None: ...
    def required(self: Any, settings_file: Any = None, session: Any = None, *, stage: Any) -> None: ...
    def extended(self: Any, settings_file: Any = None, session: Any = None, *, stage: Any = None) -> None: ...

    assert compatible(extended, theirs) == []
    assert compatible(renamed, theirs) and compatible(required, theirs)
    use = Use("zappa.cli:ZappaCLI.load_settings", "call", "method", ("-",), ("session",))
    with pytest.raises(AssertionError):
        check_params(use, theirs)
    check_params(Use("zappa.cli:ZappaCLI.load_settings", "call", "method", ("-",), ("settings_file",),
                     keywords=("session",)), theirs)
    with pytest.raises(AssertionError):
        check_params(Use("zappa.cli:ZappaCLI.load_settings", "shadow", "method", ("-",), ("settings_file",),
                         exact=True), theirs)


# -- completeness, from our side -------------------------------------------------------------------
def listed(name: str, kind: str, path: str) -> bool:
    return any(use.name == name and use.kind == kind and path in use.where for use in USES)


def test_every_upstream_member_our_classes_define_is_listed_as_overridden() -> None:
    """A method of ours named like upstream's replaces it; an attribute of ours named like upstream's shadows it."""
    missing = []
    for target, classes in our_classes().items():
        members = upstream_members(resolve_class(target))
        for klass in classes:
            for name in sorted(own_names(klass) & members):
                if not listed(name, "override", source_path(klass)):
                    missing.append(f"{klass.__name__}.{name} ({source_path(klass)}) overrides {target}.{name}")
    assert missing == [], "add to zappa_eager/upstream.py: " + "; ".join(missing)


def package_sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if relative != LIST_FILE:
            yield relative, ast.parse(path.read_text(encoding="utf-8"))


def patched_calls(tree: ast.Module) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            func = node.func
            if (isinstance(func, ast.Name) and func.id == "patched") or (
                isinstance(func, ast.Attribute) and func.attr == "patched"
            ):
                yield node


def test_every_upstream_attribute_patched_shadows_is_listed() -> None:
    from zappa_eager.provisioning.routing import AliasRouting

    shadowable = upstream_members(zappa.cli.ZappaCLI) | upstream_members(zappa.core.Zappa)
    missing, dynamic = [], []
    seen = 0
    for path, tree in package_sources():
        for call in patched_calls(tree):
            seen += 1
            name = call.args[1]
            if not isinstance(name, ast.Constant):
                dynamic.append(path)
            elif name.value in shadowable and not listed(name.value, "shadow", path):
                missing.append(f"{path}: patched(..., {name.value!r})")
    assert seen >= 9, "the scan finds the patched() calls"
    assert missing == [], missing
    # The one patched() with a computed name: the routing wrappers, each listed.
    assert sorted(set(dynamic)) == [upstream.ROUTING]
    assert [name for name in AliasRouting.WRAPPED if not listed(name, "shadow", upstream.ROUTING)] == []
    assert all(hasattr(AliasRouting, f"wrap_{name}") for name in AliasRouting.WRAPPED)


def is_private(name: str) -> bool:
    return re.fullmatch(r"_[A-Za-z]\w*", name) is not None and not name.endswith("__")


@cache
def upstream_private_names() -> frozenset[str]:
    """Private names upstream defines: its modules' globals, its classes' members and ``self._x`` attributes."""
    found: set[str] = set()
    for info in pkgutil.walk_packages(zappa.__path__, "zappa."):
        try:
            module = importlib.import_module(info.name)
        except Exception:  # an optional dependency missing: what we cannot import we cannot use either
            continue
        for name, value in vars(module).items():
            if is_private(name) and not inspect.ismodule(value):
                found.add(name)
            if inspect.isclass(value) and value.__module__ == module.__name__:
                found |= {member for member in upstream_members(value) if is_private(member)}
    return frozenset(found)


def docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def own_attributes(tree: ast.Module, extending: frozenset[str]) -> set[int]:
    """``self.x`` inside a class of ours that extends no upstream class: our own attributes, not upstream's."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name not in extending:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id == "self":
                    ids.add(id(inner))
    return ids


def named_private_names(tree: ast.Module, private: frozenset[str], extending: frozenset[str] = frozenset()) -> set[str]:
    """Upstream private names a module names: attributes, imports, and words of its strings.

    Docstrings do not count, nor ``self.x`` in a class that extends none of upstream's
    (``extending``: the names of ours that do).
    """
    skip = docstrings(tree) | own_attributes(tree, extending)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "zappa":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= set(re.findall(r"(?<!\w)_[A-Za-z]\w*", node.value))
    return found & private


def test_upstream_private_names_are_used_only_as_listed() -> None:
    private = upstream_private_names()
    assert {"_LambdaHandler__instance", "_get_qualified_lambda_arn", "_stage_config_overrides"} <= private
    extending = frozenset(klass.__name__ for classes in our_classes().values() for klass in classes)
    unlisted = []
    for path, tree in package_sources():
        for name in sorted(named_private_names(tree, private, extending)):
            if not any(use.name == name and path in use.where for use in USES):
                unlisted.append(f"{path}: {name}")
    assert unlisted == [], "upstream private names not in zappa_eager/upstream.py: " + ", ".join(unlisted)


def test_the_private_name_scan_sees_attributes_strings_and_imports() -> None:
    source = (
        '"""Docstring naming _get_boto_session is not a use."""\n'
        "from zappa.handler import _LogResponse\n"
        "x.zappa._get_qualified_lambda_arn(a)\n"
        "getattr(cli, '_stage_config_overrides', {})\n"
        "y = '_zappa_eager_routing'\n"
        "class Ours:\n    def f(self):\n        return self._s3\n"
        "class EagerZappaCLI:\n    def f(self):\n        return self._detect_websocket_usage()\n"
    )
    private = frozenset({"_LogResponse", "_get_qualified_lambda_arn", "_stage_config_overrides", "_get_boto_session",
                         "_s3", "_detect_websocket_usage"})
    found = named_private_names(ast.parse(source), private, frozenset({"EagerZappaCLI"}))
    assert found == private - {"_get_boto_session", "_s3"}


# -- what upstream does that we rely on (its source) -----------------------------------------------
def test_upstream_lambda_handler_reuses_the_handler_we_build() -> None:
    """``global_handler`` (written by boot) is what upstream's ``lambda_handler`` serves from."""
    assert "global_handler or cls()" in inspect.getsource(zappa.handler.LambdaHandler.lambda_handler)


def test_upstream_create_package_passes_the_handler_file_we_swap() -> None:
    source = inspect.getsource(zappa.cli.ZappaCLI.create_package)
    # Our create_package swaps the handler file passed to these two Zappa methods.
    assert "create_lambda_zip(" in source and "handler_file=handler_file" in source
    assert "create_handler_venv(" in source
    assert "ZappaCLI()" in inspect.getsource(zappa.cli.handle)


def test_upstream_handler_venv_copies_zappa_star() -> None:
    # slim_handler: upstream copies site-packages/zappa* into the handler venv, which
    # brings zappa_eager along for a regular install.
    assert '"[zZ]appa*"' in inspect.getsource(zappa.core.Zappa.create_handler_venv)
