"""zappa's WSGI names (werkzeug's ``Response`` and ``ClosingIterator``) wait for a WSGI app.

Each test imports ``handler`` in a fresh interpreter (one Lambda environment) with the real zappa:
an ASGI app never loads werkzeug's wrappers, a WSGI app has them loaded in INIT, as before.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import zappa.handler
import zappa.middleware

from tests.conftest import base_stage, make_task_root, run_probe
from zappa_eager.runtime.deferred import WSGI_NAME_DEFERRALS

WERKZEUG = {"kind": "werkzeug"}
STAND_INS = {"response": "DeferredName", "closing_iterator": "DeferredName", "loaded": []}
WERKZEUGS_OWN = {"response": "type", "closing_iterator": "type", "loaded": ["werkzeug.wrappers", "werkzeug.wsgi"]}


def asgi_root(tmp_path: Path, **overrides: Any) -> Path:
    stage = {"app_function": "plainapp.asgi_app", "project_name": "plainapp", "s3_bucket": "zappa-eager-tests",
             "aws_region": "us-east-1", "keep_warm": False, **overrides}
    return make_task_root(tmp_path, stage, project="plainapp")


def test_an_asgi_app_never_loads_werkzeugs_wrappers(tmp_path: Path) -> None:
    result = run_probe(asgi_root(tmp_path), [WERKZEUG, {"kind": "http", "path": "/"}, WERKZEUG],
                       env={"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"})
    before, served, after = (each["response"] for each in result["responses"])
    assert before == STAND_INS and after == STAND_INS  # neither INIT nor the request needed them
    assert served["statusCode"] == 200 and served["body"] == "asgi /"


def test_an_asgi_app_with_the_deferral_off_loads_them_in_init(tmp_path: Path) -> None:
    result = run_probe(asgi_root(tmp_path, eager_init_defer_imports=False), [WERKZEUG])
    assert result["responses"][0]["response"] == WERKZEUGS_OWN


def test_a_wsgi_app_has_werkzeugs_own_names_from_init_on(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage())
    result = run_probe(root, [WERKZEUG, {"kind": "http", "path": "/"}],
                       env={"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"})
    state, served = (each["response"] for each in result["responses"])
    assert state == WERKZEUGS_OWN
    assert served["statusCode"] == 200


def names_used(path: Path, name: str) -> list[tuple[ast.Name, ast.AST]]:
    """Every load of ``name`` in the module's code (imports excluded), with its parent node."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    return [(node, parents[node]) for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)]


def served_by_the_stand_in(node: ast.Name, parent: ast.AST) -> bool:
    """An annotation, an attribute read (``Response.from_app``) or a call (``ClosingIterator(...)``);
    not an argument (``isinstance(x, Response)``) nor a base class."""
    annotation = (isinstance(parent, ast.arg) and parent.annotation is node) or (
        isinstance(parent, ast.AnnAssign) and parent.annotation is node) or (
        isinstance(parent, ast.FunctionDef) and parent.returns is node)
    attribute = isinstance(parent, ast.Attribute) and parent.value is node
    call = isinstance(parent, ast.Call) and parent.func is node
    return annotation or attribute or call


def test_upstream_uses_the_deferred_names_only_in_ways_the_stand_in_serves() -> None:
    """Fails when zappa starts using them otherwise (``isinstance``, subclassing), or moves them."""
    files = {"zappa.handler": Path(zappa.handler.__file__), "zappa.middleware": Path(zappa.middleware.__file__)}
    for deferral in WSGI_NAME_DEFERRALS:
        source = files[deferral.importer].read_text()
        assert f"from {deferral.module} import {deferral.name}\n" in source, deferral
        uses = names_used(files[deferral.importer], deferral.name)
        assert uses, deferral
        for node, parent in uses:
            assert served_by_the_stand_in(node, parent), (deferral, ast.dump(parent)[:200])


def test_the_contract_check_refuses_uses_the_stand_in_cannot_serve(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from w import Response\nisinstance(1, Response)\nclass R(Response): pass\n"
                      "Response.from_app(1)\ndef f(r: Response) -> Response: ...\n")
    verdicts = [served_by_the_stand_in(node, parent) for node, parent in names_used(module, "Response")]
    assert sorted(verdicts) == [False, False, True, True, True]
