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
