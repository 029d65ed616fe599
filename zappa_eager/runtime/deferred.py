"""Imports upstream makes at module level that INIT does not need, loaded on first use instead.

``zappa.handler`` imports ``zappa.utilities``, which imports ``boto3`` and ``botocore`` at the
top (about 100-150 ms with ``s3transfer``, ``jmespath``, ``urllib3``...) only to name
``boto3.Session`` in annotations and to catch ``botocore.exceptions.ClientError`` in helpers
the request path never calls. Upstream's handler itself already imports boto3 lazily, where S3
is needed. So while ``zappa.handler`` is imported, ``sys.modules`` holds a :class:`DeferredModule`
for each: the importing module binds it as its global, and the annotations it evaluates at
definition time get a string (what ``from __future__ import annotations`` would have given).
Once the import is over the stand-ins leave ``sys.modules``, so anyone else's ``import boto3``
is the real one; the first read of any other attribute through a stand-in imports the real
modules, in upstream's order, and every later read goes straight to them.

The same holds for a package whose ``__init__`` only re-exports (:class:`PackageDeferral`):
``zappa.handler`` needs ``werkzeug.wrappers.Response``, and ``werkzeug/__init__`` also imports
its development server and test client (``http.server``, multipart parsing: 10-15 ms a Django
INIT never uses). The package is registered without running its ``__init__``; its submodules
import as usual, and the first read of a name it does not hold yet runs the ``__init__`` then.

And for names one upstream module imports by name for WSGI apps only (:class:`NameDeferral`):
``from werkzeug.wrappers import Response`` binds a :class:`DeferredName` while ``zappa.handler``
is imported; ``boot`` resolves it as soon as it knows the app is not ASGI, so only an ASGI app
goes without them (and without most of werkzeug).

It fails safe: an attribute the list does not name, read while the import runs, loads the real
modules at once (the INIT pays as before, and the init report's ``boto3_in_init`` says so);
``tests/runtime/test_deferred_sdk.py`` fails when upstream's or werkzeug's layout changes under it.
Runtime module: standard library only.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

__all__ = ["PACKAGE_DEFERRALS", "UPSTREAM_DEFERRALS", "WSGI_NAME_DEFERRALS", "Deferral", "DeferredModule",
           "DeferredName", "DeferredPackage", "NameDeferral", "PackageDeferral", "deferred_imports",
           "resolve_deferred_names", "sdk_modules_loaded"]

#: The AWS SDK's top-level modules: the init report says whether INIT imported any of them.
SDK_MODULES = ("boto3", "botocore", "s3transfer")


@dataclass(frozen=True)
class Deferral:
    """Modules one upstream module imports at its top but uses only inside functions it may never call."""

    #: The upstream module whose top-level imports are deferred (only its reads get annotation strings).
    importer: str
    #: The deferred modules, in the order the importer imports them (and the real ones are loaded in).
    modules: tuple[str, ...]
    #: Per deferred module, the attributes the importer reads at definition time for annotations only.
    annotations: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Per deferred module, functions answered exactly without it while it is not loaded (by anyone).
    answers: Mapping[str, Mapping[str, Callable[..., Any]]] = field(default_factory=dict)


def _iscoroutinefunction_without_asyncio(func: object) -> bool:
    """``asyncio.iscoroutinefunction`` while asyncio is not loaded: only asyncio marks functions as
    coroutines besides ``async def``, so without it the answer is ``inspect``'s."""
    import inspect

    return inspect.iscoroutinefunction(func)


#: What ``zappa.handler``'s import chain defers: ``zappa.utilities`` names ``boto3.Session`` in nine
#: annotations and uses ``botocore.exceptions`` in event-source helpers (never on the request path).
UPSTREAM_DEFERRALS: tuple[Deferral, ...] = (
    Deferral(importer="zappa.utilities", modules=("boto3", "botocore"),
             annotations={"boto3": frozenset({"Session"})}),
    # zappa.handler and zappa.asgi use asyncio only to run ASGI apps, and to tell one apart at load
    # (``asyncio.iscoroutinefunction``): a WSGI app (Flask) never needs it (13-33 ms).
    Deferral(importer="zappa.handler", modules=("asyncio",),
             answers={"asyncio": {"iscoroutinefunction": _iscoroutinefunction_without_asyncio}}),
)


@dataclass(frozen=True)
class PackageDeferral:
    """A package whose ``__init__`` only re-exports its submodules: the importer needs one submodule."""

    package: str
    #: The upstream module that imports a submodule of it (documentation, and the contract test's subject).
    importer: str


#: ``zappa.handler`` imports ``werkzeug.wrappers``; werkzeug's ``__init__`` adds its server and test client.
PACKAGE_DEFERRALS: tuple[PackageDeferral, ...] = (PackageDeferral(package="werkzeug", importer="zappa.handler"),)


class DeferredPackage(ModuleType):
    """A package registered without running its ``__init__``: that runs on the first name it lacks.

    A submodule's name imports the submodule (what ``from package import submodule`` would do);
    any other name runs the package's ``__init__`` in place, once, and the package is then a plain module.
    """

    def __getattr__(self, attr: str) -> Any:  # only for names the package does not hold yet
        if not attr.startswith("__") and importlib.util.find_spec(f"{self.__name__}.{attr}") is not None:
            return importlib.import_module(f"{self.__name__}.{attr}")
        spec = self.__spec__
        object.__setattr__(self, "__class__", ModuleType)  # from now on misses are the package's own business
        if spec is not None and spec.loader is not None:
            spec.loader.exec_module(self)
        return getattr(self, attr)


def _register_package(deferral: PackageDeferral) -> None:
    """Put the package in ``sys.modules`` as its import would, minus running ``__init__``."""
    spec = importlib.util.find_spec(deferral.package)
    if spec is None or spec.submodule_search_locations is None or spec.loader is None \
            or not hasattr(spec.loader, "exec_module"):
        return  # not a regular package: import it as usual
    package = DeferredPackage(deferral.package)
    package.__spec__ = spec
    package.__loader__ = spec.loader
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    package.__package__ = deferral.package
    if spec.cached:
        package.__dict__["__cached__"] = spec.cached
    sys.modules[deferral.package] = package


@dataclass(frozen=True)
class NameDeferral:
    """A name one upstream module imports at its top (``from module import name``) for WSGI apps only."""

    importer: str
    module: str
    name: str


#: zappa's WSGI request path: ``zappa.handler`` wraps the app's answer in werkzeug's ``Response``
#: (``Response.from_app``) and ``zappa.middleware`` closes it with werkzeug's ``ClosingIterator``.
#: An ASGI app's requests never reach either, yet importing them is most of werkzeug (request and
#: response wrappers, datastructures, ``email``, ``http``: 25-40 ms of a FastAPI INIT). Until the app
#: is built they are :class:`DeferredName` s; ``boot`` then imports them for any app but an ASGI one.
WSGI_NAME_DEFERRALS: tuple[NameDeferral, ...] = (
    NameDeferral(importer="zappa.handler", module="werkzeug.wrappers", name="Response"),
    NameDeferral(importer="zappa.middleware", module="werkzeug.wsgi", name="ClosingIterator"),
)


class DeferredName:
    """What the importer bound for a deferred name: its first use imports the module and rebinds the name.

    Any attribute read or call resolves it (``Response.from_app(...)``), so a use upstream adds later
    still works, only without the saving; it is not a class, so ``isinstance`` against it fails loudly
    (``tests/runtime/test_deferred_names.py`` checks upstream uses the names only as above).
    """

    def __init__(self, deferral: NameDeferral) -> None:
        self._zappa_eager_deferral = deferral

    def _zappa_eager_bound(self) -> ModuleType | None:
        """The importer, while its name is still this stand-in (not resolved, not rebound by anyone)."""
        importer = sys.modules.get(self._zappa_eager_deferral.importer)
        if importer is None or importer.__dict__.get(self._zappa_eager_deferral.name) is not self:
            return None
        return importer

    def _zappa_eager_resolve(self) -> Any:
        deferral = self._zappa_eager_deferral
        real = getattr(importlib.import_module(deferral.module), deferral.name)
        importer = self._zappa_eager_bound()
        if importer is not None:
            setattr(importer, deferral.name, real)
        return real

    def __getattr__(self, attr: str) -> Any:  # only for what the stand-in lacks: all but its own members
        if attr.startswith("_zappa_eager_"):
            raise AttributeError(attr)
        return getattr(self._zappa_eager_resolve(), attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._zappa_eager_resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        deferral = self._zappa_eager_deferral
        return f"<zappa-eager's stand-in for {deferral.module}.{deferral.name}, imported on first use>"


#: The names bound as :class:`DeferredName` and not resolved yet (``resolve_deferred_names``).
_pending_names: list[DeferredName] = []


class _NameSource(ModuleType):
    """Stands in for the module of deferred names while their importers import: each of those names
    reads as a :class:`DeferredName`; any other read imports the real module at once (fail safe)."""

    def __init__(self, name: str, deferrals: tuple[NameDeferral, ...]) -> None:
        super().__init__(name, f"zappa-eager's stand-in for {name} while zappa's modules import")
        self.__dict__["_zappa_eager_names"] = {deferral.name: deferral for deferral in deferrals}

    def __getattr__(self, attr: str) -> Any:
        names: dict[str, NameDeferral] = self.__dict__["_zappa_eager_names"]
        caller = _caller_module()
        deferral = names.get(attr)
        if deferral is not None and caller == deferral.importer:
            stand_in = DeferredName(deferral)
            _pending_names.append(stand_in)
            return stand_in
        if attr == "__path__" and caller in {each.importer for each in names.values()}:
            # The importer's ``from module import name`` asks first whether the module is a package;
            # as a plain module, the name is read by the importer's own code (above), not by importlib.
            raise AttributeError(attr)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


def _install_name_sources(deferrals: tuple[NameDeferral, ...]) -> list[_NameSource]:
    by_module: dict[str, list[NameDeferral]] = {}
    for deferral in deferrals:
        if deferral.importer not in sys.modules and deferral.module not in sys.modules:
            by_module.setdefault(deferral.module, []).append(deferral)
    sources = [_NameSource(module, tuple(names)) for module, names in by_module.items()]
    for source in sources:
        sys.modules[source.__name__] = source
    return sources


def resolve_deferred_names() -> list[str]:
    """Import every deferred name now and rebind it in its importer (a WSGI app will need them).

    Returns the ``module.name`` of each one resolved here."""
    resolved = []
    while _pending_names:
        stand_in = _pending_names.pop(0)
        if stand_in._zappa_eager_bound() is not None:
            stand_in._zappa_eager_resolve()
            deferral = stand_in._zappa_eager_deferral
            resolved.append(f"{deferral.module}.{deferral.name}")
    return resolved


class DeferredModule(ModuleType):
    """Stands in for a module until something reads from it; then forwards every read to the real one."""

    def __init__(self, name: str, group: _Group) -> None:
        super().__init__(name, f"zappa-eager's stand-in for {name}, imported on first use")
        self.__dict__["_zappa_eager_group"] = group

    def __getattr__(self, attr: str) -> Any:  # only called for what the stand-in does not hold itself
        group: _Group = self.__dict__["_zappa_eager_group"]
        if group.importing and attr in group.deferral.annotations.get(self.__name__, ()) \
                and _caller_module() == group.deferral.importer:
            return f"{self.__name__}.{attr}"  # an annotation, evaluated at definition time: a string suffices
        answer = group.deferral.answers.get(self.__name__, {}).get(attr)
        if answer is not None and not group.real and not isinstance(sys.modules.get(self.__name__), ModuleType):
            return answer
        return getattr(group.load(self.__name__), attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(self.__dict__["_zappa_eager_group"].load(self.__name__), attr, value)

    def __dir__(self) -> list[str]:
        return dir(self.__dict__["_zappa_eager_group"].load(self.__name__))


def _caller_module() -> str | None:
    """The module whose code read the attribute (two frames up: past ``__getattr__``)."""
    frame = sys._getframe(2)
    return frame.f_globals.get("__name__")


class _Group:
    """The stand-ins of one deferral: loading one loads all, as the importer's own imports would have."""

    def __init__(self, deferral: Deferral) -> None:
        self.deferral = deferral
        self.importing = True
        self.stand_ins: dict[str, DeferredModule] = {name: DeferredModule(name, self) for name in deferral.modules}
        self.real: dict[str, ModuleType] = {}

    def install(self) -> None:
        for name, stand_in in self.stand_ins.items():
            sys.modules[name] = stand_in

    def uninstall(self) -> None:
        for name, stand_in in self.stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]

    def load(self, name: str) -> ModuleType:
        if not self.real:
            self.uninstall()
            self.real = {module: importlib.import_module(module) for module in self.deferral.modules}
        return self.real[name]


def _applies(deferral: Deferral) -> bool:
    """Only while the importer has not run yet and none of its modules is loaded (else nothing to save)."""
    return deferral.importer not in sys.modules and not any(name in sys.modules for name in deferral.modules)


@contextmanager
def deferred_imports(enabled: bool = True, deferrals: tuple[Deferral, ...] = UPSTREAM_DEFERRALS,
                     packages: tuple[PackageDeferral, ...] = PACKAGE_DEFERRALS,
                     names: tuple[NameDeferral, ...] = WSGI_NAME_DEFERRALS) -> Iterator[None]:
    """Import upstream's modules inside this block with the deferred modules and names standing in."""
    groups = [_Group(deferral) for deferral in deferrals if enabled and _applies(deferral)]
    for group in groups:
        group.install()
    for package in packages if enabled else ():
        if package.package not in sys.modules:
            _register_package(package)
    sources = _install_name_sources(names) if enabled else []
    try:
        yield
    finally:
        for group in groups:
            group.importing = False
            group.uninstall()
        for source in sources:
            if sys.modules.get(source.__name__) is source:
                del sys.modules[source.__name__]


def sdk_modules_loaded() -> list[str]:
    """Which of the AWS SDK's modules are really imported (stand-ins do not count)."""
    return [name for name in SDK_MODULES if isinstance(sys.modules.get(name), ModuleType)
            and not isinstance(sys.modules.get(name), DeferredModule)]
