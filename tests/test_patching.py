"""``patched``: upstream attributes are shadowed for a step and restored exactly, also after a failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from zappa.core import Zappa

from zappa_eager.cli import EagerZappaCLI
from zappa_eager.packaging.runtime_files import HANDLER_FILE
from zappa_eager.patching import patched


class Upstream:
    greeting = "class"

    def method(self) -> str:
        return "upstream"


def test_a_class_attribute_shows_through_again() -> None:
    obj = Upstream()
    with patched(obj, "method", lambda: "ours"):
        assert obj.method() == "ours"
        assert "method" in vars(obj)
    assert obj.method() == "upstream"
    assert "method" not in vars(obj)


def test_an_own_attribute_is_put_back_as_it_was() -> None:
    obj = Upstream()
    obj.greeting = "instance"
    with patched(obj, "greeting", "patched"):
        assert obj.greeting == "patched"
    assert vars(obj)["greeting"] == "instance"


def test_nested_patches_unwind_in_order_and_survive_an_exception() -> None:
    obj = Upstream()
    with pytest.raises(RuntimeError), patched(obj, "greeting", "outer"):
        with patched(obj, "greeting", "inner"):
            assert obj.greeting == "inner"
        assert obj.greeting == "outer"
        raise RuntimeError("step failed")
    assert obj.greeting == "class" and "greeting" not in vars(obj)


def test_the_cli_swaps_the_handler_only_while_upstream_packages() -> None:
    cli = EagerZappaCLI()
    cli.zappa = Zappa(load_credentials=False)
    seen: list[Any] = []
    cli.zappa.__dict__["create_lambda_zip"] = lambda *args, **kwargs: seen.append(kwargs)  # an earlier own value
    before = vars(cli.zappa)["create_lambda_zip"]
    with cli._eager_handler_in_package():
        cli.zappa.create_lambda_zip(handler_file="upstream/handler.py")
        assert "create_handler_venv" in vars(cli.zappa)
    assert seen == [{"handler_file": str(HANDLER_FILE)}]
    assert Path(seen[0]["handler_file"]).name == "handler.py"
    assert vars(cli.zappa)["create_lambda_zip"] is before  # restored, not deleted
    assert "create_handler_venv" not in vars(cli.zappa)
