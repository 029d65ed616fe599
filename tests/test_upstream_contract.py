"""What we rely on in upstream zappa. A release that renames any of it fails here, loudly."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import zappa.cli
import zappa.core
import zappa.handler
from packaging.version import Version


def test_zappa_version_is_in_the_tested_range() -> None:
    assert Version("0.63.0") <= Version(version("zappa")) < Version("0.64")


def test_lambda_handler_singleton_and_loaders() -> None:
    handler_cls = zappa.handler.LambdaHandler
    assert hasattr(handler_cls, "_LambdaHandler__instance"), "boot.reset_upstream_singleton relies on it"
    names = ("load_remote_settings", "load_remote_project_archive", "handler", "lambda_handler", "_get_boto_session")
    for name in names:
        assert callable(getattr(handler_cls, name)), name
    assert list(inspect.signature(handler_cls.load_remote_project_archive).parameters) == ["self", "project_zip_path"]
    assert list(inspect.signature(handler_cls.load_remote_settings).parameters) == [
        "self", "remote_bucket", "remote_file"
    ]
    assert hasattr(zappa.handler, "global_handler"), "boot sets zappa.handler.global_handler"
    source = inspect.getsource(handler_cls.lambda_handler)
    assert "global_handler or cls()" in source


def test_cli_methods_we_override_or_wrap() -> None:
    cli = zappa.cli.ZappaCLI
    for name in ("handle", "load_settings", "load_settings_file", "create_package", "get_zappa_settings_string"):
        assert callable(getattr(cli, name)), name
    assert isinstance(inspect.getattr_static(cli, "stage_config"), property)
    source = inspect.getsource(cli.create_package)
    # Our create_package swaps the handler file passed to these two Zappa methods.
    assert "create_lambda_zip(" in source and "handler_file=handler_file" in source
    assert "create_handler_venv(" in source
    assert callable(zappa.cli.handle)
    assert "ZappaCLI()" in inspect.getsource(zappa.cli.handle)


def test_core_methods_we_wrap() -> None:
    core = zappa.core.Zappa
    assert "handler_file" in inspect.signature(core.create_lambda_zip).parameters
    assert callable(core.create_handler_venv)
    # slim_handler: upstream copies site-packages/zappa* into the handler venv, which
    # brings zappa_eager along for a regular install.
    assert '"[zZ]appa*"' in inspect.getsource(core.create_handler_venv)
