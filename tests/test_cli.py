"""``zappa --help``/``--version`` say which CLI is active; the guard stops upstream's CLI on a zappa-eager stage.

In-process, on upstream's real argparse and ``ZappaCLI`` code. The guard is exercised on a private
copy of ``zappa.cli`` (its own ``ZappaCLI`` class), so wrapping it leaves this process's upstream
CLI untouched; tests/packaging/test_installed_wheel.py runs the same guard from a real forced reinstall.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import zappa
import zappa.cli as upstream_cli

from zappa_eager import guard
from zappa_eager.cli import EXTRA_COMMANDS, EagerZappaCLI, version_string

CALLS: list[list[str]] = []


def recording_command(cli: EagerZappaCLI, argv: list[str]) -> int:
    """An ``EXTRA_COMMANDS`` entry for the tests: records its arguments, exits 7."""
    CALLS.append(argv)
    return 7


@pytest.fixture(autouse=True)
def wide_help(monkeypatch: pytest.MonkeyPatch) -> None:
    """argparse wraps help at the terminal width, also inside hyphenated words: one line per entry here."""
    monkeypatch.setenv("COLUMNS", "1000")


def run_cli(cli: Any, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[Any, str, str]:
    try:
        status = cli.handle(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


# -- zappa-eager's help and version ---------------------------------------------------------------
def test_help_names_zappa_eager_and_lists_every_extra_command(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(EagerZappaCLI(), ["--help"], capsys)
    assert status == 0
    assert out.split("\n\n")[1].replace("\n", " ").startswith(f"{version_string()}: Zappa with eager initialization")
    assert "bench" in EXTRA_COMMANDS
    flat = " ".join(out.split())
    for name, (line, _) in EXTRA_COMMANDS.items():
        assert f"{name} {' '.join(line.split())}" in flat, name
    choices = out.split("{certify,", 1)[1].split("}", 1)[0].split(",")
    assert {"deploy", "package", "update", "undeploy", *EXTRA_COMMANDS} <= set(choices)  # upstream's and ours
    assert "Print the zappa-eager and zappa versions" in flat


def test_no_command_prints_the_same_help(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(EagerZappaCLI(), [], capsys)
    assert version_string() in " ".join(out.split()) and "bench" in out


@pytest.mark.parametrize("argv", [["--version"], ["-v"], ["--color", "never", "--version"]])
def test_version_names_both_packages(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(EagerZappaCLI(), argv, capsys)
    assert status == 0
    assert out.strip() == version_string()
    assert out.startswith("zappa-eager ") and f"(extends zappa {zappa.__version__})" in out


def test_extra_command_runs_also_after_upstream_options(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(EXTRA_COMMANDS, "recorded", ("A command for this test.", f"{__name__}:recording_command"))
    CALLS.clear()
    assert run_cli(EagerZappaCLI(), ["recorded", "dev", "--quick"], capsys)[0] == 7
    assert run_cli(EagerZappaCLI(), ["--color", "never", "recorded", "dev", "--x"], capsys)[0] == 7
    assert CALLS == [["dev", "--quick"], ["dev", "--x"]]
    _, out, _ = run_cli(EagerZappaCLI(), ["--help"], capsys)
    assert "A command for this test." in out


def test_help_hook_is_removed_after_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    real = upstream_cli.argcomplete
    run_cli(EagerZappaCLI(), ["--help"], capsys)
    assert upstream_cli.argcomplete is real


def test_no_package_carries_the_guard_pth() -> None:
    seen: list[dict[str, Any]] = []
    def create_lambda_zip(**kwargs: Any) -> str:  # stands in for upstream's Zappa.create_lambda_zip
        seen.append(kwargs)
        return "x.zip"

    cli = EagerZappaCLI()
    cli.zappa = SimpleNamespace(create_lambda_zip=create_lambda_zip)
    with cli._without_guard_pth():
        cli.zappa.create_lambda_zip(exclude=["tests"], prefix="p")
        cli.zappa.create_lambda_zip(prefix="handler_p")
    assert [k["exclude"] for k in seen] == [["tests", guard.PTH_NAME], [guard.PTH_NAME]]
    assert cli.zappa.create_lambda_zip is create_lambda_zip


# -- the .pth line ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("program", "loads"), [
    ("/venv/bin/zappa", True), ("zappa", True), ("/venv/bin/zappa.exe", True), ("/venv/bin/zappa-eager", False),
    ("/venv/bin/python", False), ("-c", False), ("", False),
])
def test_pth_line_loads_the_guard_only_for_a_zappa_script(program: str, loads: bool,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(guard, "install", lambda: calls.append(True))
    monkeypatch.setattr(sys, "argv", [program, "package", "dev"])
    exec(guard.PTH_LINE)  # what site.py does with the line
    assert calls == ([True] if loads else [])


def test_pth_line_is_one_import_line() -> None:
    assert guard.PTH_LINE.startswith("import ") and guard.PTH_LINE.count("\n") == 1 and guard.PTH_LINE.endswith("\n")


# -- the guard on upstream's CLI -------------------------------------------------------------------
@pytest.fixture
def upstream_copy() -> Iterator[ModuleType]:
    """A private copy of ``zappa.cli`` (same code, its own ``ZappaCLI``), wrapped by the guard."""
    spec = importlib.util.spec_from_file_location("zappa._guard_test_cli", upstream_cli.__file__)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    guard.wrap_upstream_cli(module)
    yield module


STAGES = {
    "dev": {"app_function": "app.app", "s3_bucket": "b", "aws_region": "us-east-1", "keep_warm": False,
            "use_precompiled_packages": False, "eager_init_warmup": ["/healthz"]},
    "child": {"extends": "dev", "eager_init_warmup": ["/x"]},
    "plain": {"app_function": "app.app", "s3_bucket": "b", "aws_region": "us-east-1"},
    "pc": {"app_function": "app.app", "s3_bucket": "b", "aws_region": "us-east-1",
           "provisioned_concurrency": {"min": 1, "max": 2}},
    "typo": {"app_function": "app.app", "s3_bucket": "b", "aws_region": "us-east-1", "eager_warmup": ["/x"]},
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "zappa_settings.json").write_text(json.dumps(STAGES))
    (tmp_path / "app.py").write_text("def app(environ, start_response):\n    return []\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("command", "stage", "keys"), [
    ("package", "dev", "eager_init_warmup"), ("deploy", "child", "eager_init_warmup"),
    ("update", "pc", "provisioned_concurrency"), ("save-python-settings-file", "typo", "eager_warmup"),
])
def test_upstream_cli_refuses_a_zappa_eager_stage(command: str, stage: str, keys: str, upstream_copy: ModuleType,
                                                  project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(upstream_copy.ZappaCLI(), [command, stage], capsys)
    assert status == 1
    message = " ".join((out + err).split())
    assert f"stage '{stage}' sets zappa-eager settings ({keys}), but this `zappa` is upstream Zappa's CLI" in message
    assert f"Fix: {guard.fix_command()}" in message
    assert guard.fix_command().startswith("pip install --force-reinstall --no-deps ")
    assert f"`zappa-eager {command} {stage}` works meanwhile" in message
    assert f"Calling {command}" not in message  # stopped before upstream's dispatch said anything
    assert not list(project.glob("*.zip")) and not (project / "zappa_settings.py").exists()


def test_upstream_cli_runs_a_plain_stage_and_says_it_is_upstreams(upstream_copy: ModuleType, project: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(upstream_copy.ZappaCLI(), ["save-python-settings-file", "plain"], capsys)
    assert status is None
    assert "Generating Zappa settings Python file" in out
    assert "APP_FUNCTION='app'" in (project / "zappa_settings.py").read_text()
    assert err.startswith(f"zappa-eager: this `zappa` is upstream Zappa's CLI (zappa {zappa.__version__})")
    assert err.rstrip().endswith(guard.fix_command())


def test_upstream_help_and_version_say_it_is_upstreams(upstream_copy: ModuleType, project: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(upstream_copy.ZappaCLI(), ["--help"], capsys)
    assert status == 0
    assert "this `zappa` is upstream Zappa's CLI" in " ".join(out.split())
    assert "bench" not in out  # upstream's commands only: it is upstream's CLI that runs
    status, out, err = run_cli(upstream_copy.ZappaCLI(), ["--version"], capsys)
    assert out.strip() == zappa.__version__ and "upstream Zappa's CLI" in err


def test_zappa_eager_cli_passes_through_the_wrapped_class(upstream_copy: ModuleType, project: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    class Subclass(upstream_copy.ZappaCLI):  # type: ignore[name-defined,misc]
        """What ``EagerZappaCLI`` is to the real class: the guard leaves subclasses alone."""

    status, out, err = run_cli(Subclass(), ["save-python-settings-file", "dev"], capsys)
    assert status is None and err == ""
    assert (project / "zappa_settings.py").exists()


def test_wrapping_twice_wraps_once(upstream_copy: ModuleType) -> None:
    handle = upstream_copy.ZappaCLI.handle
    guard.wrap_upstream_cli(upstream_copy)
    assert upstream_copy.ZappaCLI.handle is handle


def test_fix_without_no_deps_when_zappa_left_the_supported_range(monkeypatch: pytest.MonkeyPatch) -> None:
    real = guard._version
    monkeypatch.setattr(guard, "_version", lambda name: "0.64.0" if name == "zappa" else real(name))
    assert not guard.zappa_in_range()
    assert guard.fix_command().startswith("pip install --force-reinstall ") and "--no-deps" not in guard.fix_command()
    assert "works meanwhile" not in guard.refusal("package", "dev", ["eager_init"])


@pytest.mark.parametrize(("direct_url", "source"), [
    (None, "zappa-eager==0.1.0"),
    ({"url": "file://{tmp}/dist/zappa_eager-0.1.0-py3-none-any.whl", "archive_info": {}},
     "{tmp}/dist/zappa_eager-0.1.0-py3-none-any.whl"),
    ({"url": "file://{tmp}/a%20clone", "dir_info": {"editable": True}}, "-e '{tmp}/a clone'"),
    ({"url": "file://{tmp}/gone.whl", "archive_info": {}}, "zappa-eager==0.1.0"),  # deleted since: the index
    ({"url": "https://github.com/o/zappa-eager", "vcs_info": {"vcs": "git", "commit_id": "abc"}},
     "git+https://github.com/o/zappa-eager@abc"),
])
def test_fix_reinstalls_from_where_zappa_eager_came_from(direct_url: dict[str, Any] | None, source: str,
                                                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "zappa_eager-0.1.0-py3-none-any.whl").write_bytes(b"")
    (tmp_path / "a clone").mkdir()
    text = None if direct_url is None else json.dumps(direct_url).replace("{tmp}", str(tmp_path))
    installed = SimpleNamespace(read_text=lambda file: text if file == "direct_url.json" else None)
    monkeypatch.setattr(guard.metadata, "distribution", lambda name: installed)
    monkeypatch.setattr(guard, "_version", lambda name: "0.1.0")
    assert guard._install_source() == source.replace("{tmp}", str(tmp_path))


def test_eager_keys_of() -> None:
    assert guard.eager_keys_of({"eager_init": False, "lean_keep": ["x"], "slim_handler": True}) == ["eager_init",
                                                                                                  "lean_keep"]
    assert guard.eager_keys_of({"provisioned_concurrency": 2}) == []
    assert guard.eager_keys_of({"provisioned_concurrency": {"min": 1}}) == ["provisioned_concurrency"]


# -- the import hook -------------------------------------------------------------------------------
def test_install_hooks_upstream_cli_when_imported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "zappa"
    script.write_text("import sys\nfrom zappa.cli import handle\n")
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delitem(sys.modules, "zappa.cli")
    monkeypatch.setattr(zappa, "cli", upstream_cli)
    guard.install([str(script), "package", "dev"])
    guard.install([str(script), "package", "dev"])  # the .pth may be read twice: one hook
    assert sum(isinstance(f, guard._AfterImport) for f in sys.meta_path) == 1
    fresh = importlib.import_module("zappa.cli")
    try:
        assert fresh is not upstream_cli
        assert fresh.ZappaCLI.dispatch_command.__qualname__.startswith("wrap_upstream_cli")
        assert not any(isinstance(f, guard._AfterImport) for f in sys.meta_path)
    finally:
        sys.modules["zappa.cli"] = upstream_cli


def test_install_does_nothing_under_zappa_eagers_script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "zappa"
    script.write_text("import sys\nfrom zappa_eager.cli import handle\n")
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    guard.install([str(script), "package", "dev"])
    assert not any(isinstance(f, guard._AfterImport) for f in sys.meta_path)


def test_install_does_nothing_when_switched_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "zappa"
    script.write_text("import sys\nfrom zappa.cli import handle\n")
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setenv("ZAPPA_EAGER_GUARD", "off")
    guard.install([str(script), "package", "dev"])
    assert not any(isinstance(f, guard._AfterImport) for f in sys.meta_path)
