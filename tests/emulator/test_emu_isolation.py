"""What an environment sees: a private empty /tmp, only its task root's packages, a read-only task root."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from zappa_eager.emulator import Emulator


def test_each_environment_has_its_own_empty_tmp(task_root: Callable[..., Path]) -> None:
    marker = f"zappa-emu-marker-{os.getpid()}"
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler") as emu:
        assert emu.isolated_tmp, emu.isolation_note  # root with mount namespaces: must work here
        one = emu.start_environment("provisioned-concurrency")
        two = emu.start_environment("provisioned-concurrency")
        assert one.invoke({}).json()["tmp"] == []  # empty at start, although the host /tmp is not
        assert one.invoke({"action": "write_tmp", "name": marker}).json()["tmp"] == [marker]
        assert two.invoke({}).json()["tmp"] == []  # invisible to another environment
        assert not Path("/tmp", marker).exists()  # ...and to the host's /tmp
        assert (one.tmp_dir / marker).exists()  # it lives in the environment's backing directory
        work_dir = emu.work_dir
    assert not work_dir.exists()  # removed at close, not before


def test_tooling_packages_are_invisible(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler") as emu:
        body = emu.start_environment("provisioned-concurrency").invoke(
            {"action": "import", "modules": ["django", "zappa", "boto3", "pytest", "awslambdaric", "json"]}).json()
    imports = body["imports"]
    for name in ("django", "zappa", "boto3", "pytest"):
        assert imports[name] == {"error": f"No module named '{name}'"}, name
    assert imports["awslambdaric"]["file"].startswith(body["environ"]["LAMBDA_RUNTIME_DIR"])
    assert "site-packages" not in " ".join(body["sys_path"])
    assert body["sys_path"][0] == body["environ"]["LAMBDA_TASK_ROOT"]


def test_task_root_packages_come_first(task_root: Callable[..., Path]) -> None:
    root = task_root("hello.py")
    (root / "django").mkdir()
    (root / "django" / "__init__.py").write_text("VERSION = (0, 0, 0, 'task-root', 0)\n")
    with Emulator(root, handler="hello.lambda_handler") as emu:
        body = emu.start_environment("provisioned-concurrency").invoke(
            {"action": "import", "modules": ["django"]}).json()
    task = body["environ"]["LAMBDA_TASK_ROOT"]
    assert body["imports"]["django"]["file"] == f"{task}/django/__init__.py"


def test_task_root_is_read_only(task_root: Callable[..., Path]) -> None:
    root = task_root("hello.py")
    with Emulator(root, handler="hello.lambda_handler") as emu:
        body = emu.start_environment("provisioned-concurrency").invoke({"action": "write_task_root"}).json()
    assert body["write_task_root"] == "OSError"
    assert not (root / "written.txt").exists()
    assert not (root / "__pycache__").exists()  # no bytecode written back: every cold start compiles, as on Lambda


def test_fallback_without_namespaces_uses_tmpdir(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler", isolate_tmp=False) as emu:
        assert not emu.isolated_tmp
        env = emu.start_environment("provisioned-concurrency")
        body = env.invoke({}).json()
        assert body["environ"]["TMPDIR"] == str(env.tmp_dir)


def mount_type(path: Path) -> str | None:
    """The filesystem type mounted exactly at ``path`` (from /proc/mounts), or None."""
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[1] == str(path):
            return fields[2]
    return None


def test_tmp_is_a_tmpfs_whose_files_stay_until_close(task_root: Callable[..., Path]) -> None:
    marker = f"zappa-emu-kept-{os.getpid()}"
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler") as emu:
        env = emu.start_environment("provisioned-concurrency")
        assert env.invoke({"action": "write_tmp", "name": marker}).json()["tmp"] == [marker]
        assert mount_type(env.tmp_dir) == "tmpfs"  # root here: the default /tmp is a tmpfs, not the host disk
        env.stop()
        assert (env.tmp_dir / marker).exists()  # kept for inspection after the environment stopped
        tmp_dir = env.tmp_dir
    assert mount_type(tmp_dir) is None and not tmp_dir.exists()  # unmounted and removed at close


def test_release_tmp_on_stop_frees_each_environments_tmp_when_it_stops(task_root: Callable[..., Path]) -> None:
    marker = f"zappa-emu-freed-{os.getpid()}"
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler", release_tmp_on_stop=True) as emu:
        stopped, running = emu.start_environment("provisioned-concurrency"), emu.start_environment("on-demand")
        for env in (stopped, running):
            assert env.invoke({"action": "write_tmp", "name": marker}).json()["tmp"] == [marker]
        stopped.stop()
        assert mount_type(stopped.tmp_dir) is None and not (stopped.tmp_dir / marker).exists()
        assert mount_type(running.tmp_dir) == "tmpfs" and (running.tmp_dir / marker).exists()  # still running
