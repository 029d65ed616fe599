"""No import cycle inside ``zappa_eager``: each module can be read, and imported, after what it imports.

The graph is built from the source (``ast``), not by importing, so a cycle fails here even when
import order happens to hide it. Every import statement is an edge, wherever it is: at module
level, under ``if``/``try`` and ``if TYPE_CHECKING:`` (a type-only cycle still ties two modules
together), and inside function and method bodies (deferring an import keeps it off the load
path, it does not untie the two modules). A name resolved at run time is not an import:
``cli.EXTRA_COMMANDS`` holds ``"module:function"`` strings and each command gets the CLI passed
in. An edge goes to the module named; ``from pkg import name`` goes to ``pkg.name`` when that is
a submodule, else to ``pkg``. The implicit import of parent packages (``a.b.c`` loads ``a.b``)
is not an edge.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "zappa_eager"
PACKAGE = "zappa_eager"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def all_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement of a module, at any level (module, class, function, ``TYPE_CHECKING``)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def resolve(module: str, path: Path, node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> set[str]:
    """The ``zappa_eager`` modules one import statement loads."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    base = node.module or ""
    if node.level:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    if base != PACKAGE and not base.startswith(f"{PACKAGE}."):
        return set()
    found: set[str] = set()
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        found.add(submodule if submodule in modules else base)
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges: set[str] = set()
        for node in all_imports(tree):
            edges |= resolve(module, path, node, modules)
        edges.discard(module)
        graph[module] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def test_no_import_cycle_inside_the_package() -> None:
    graph = import_graph()
    cycles = find_cycles(graph)
    described = [" <-> ".join(cycle) for cycle in cycles]
    assert cycles == [], f"import cycles inside zappa_eager: {described}"


def test_the_graph_sees_the_package() -> None:
    """The walk finds real edges (so an empty cycle list is not an empty graph), function-level ones too."""
    graph = import_graph()
    assert "zappa_eager.runtime.boot" in graph["zappa_eager.runtime.handler"]
    assert "zappa_eager.runtime.archive" in graph["zappa_eager.runtime.boot"]
    assert "zappa_eager.provisioning" in graph["zappa_eager.cli"]
    assert "zappa_eager.bench.command" in graph["zappa_eager.bench"]  # inside run_bench_command


def test_the_bench_gets_the_cli_passed_in() -> None:
    """``zappa bench`` runs with the CLI it is handed (``bench.stagecli.StageCLI``): no bench module imports it."""
    graph = import_graph()
    importers = sorted(module for module, edges in graph.items()
                       if module.startswith("zappa_eager.bench") and "zappa_eager.cli" in edges)
    assert importers == []
    assert not any(module.startswith("zappa_eager.bench") for module in graph["zappa_eager.cli"])


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ],
)
def test_cycle_finder(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert find_cycles(graph) == expected


def test_imports_count_at_every_level() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from zappa_eager.a import X\n"
        "def f():\n    from zappa_eager.b import Y\n"
        "class C:\n    from zappa_eager import c\n"
        "class D:\n    def m(self):\n        import zappa_eager.d\n"
    )
    modules = {f"zappa_eager.{name}": Path(f"{name}.py") for name in "abcd"}
    found: set[str] = set()
    for node in all_imports(ast.parse(source)):
        found |= resolve("zappa_eager.m", Path("m.py"), node, modules)
    assert found == {"zappa_eager.a", "zappa_eager.b", "zappa_eager.c", "zappa_eager.d"}
