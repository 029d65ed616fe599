"""Failures as Lambda reports them: init errors, handler errors, timeouts, runtime exits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from zappa_eager.emulator import Emulator, EnvironmentBusy, EnvironmentDead, events, parse_report_line


def test_import_error_is_an_init_error(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("broken_import.py"), handler="broken_import.lambda_handler") as emu:
        env = emu.start_environment("on-demand")
        result = env.invoke(events.api_gateway_v1("GET", "/"))
        assert not result.ok and result.error_phase == "init"
        assert result.error_type == "RuntimeError"
        assert result.error_message == "boom at import"
        assert result.init_duration_ms is not None
        assert env.init_error == result.error and not env.alive
        assert env.proc is not None and env.proc.returncode == 1  # awslambdaric exits after /init/error
        report = parse_report_line(result.report_line)
        assert report["Status"] == "error" and report["Error Type"] == "RuntimeError"
        assert "Init Duration" in report
        assert "INIT_REPORT Init Duration" in env.logs() and "broken_import: about to fail" in env.logs()
        again = env.invoke({})  # an init-failed environment answers with its init error
        assert again.error_phase == "init" and again.error_type == "RuntimeError"


def test_missing_module_is_runtime_import_module_error(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root(), handler="nope.lambda_handler") as emu:
        env = emu.start_environment("provisioned-concurrency")  # does not raise
        assert env.init_error is not None
        assert env.init_error["errorType"] == "Runtime.ImportModuleError"
        assert "Unable to import module 'nope'" in env.init_error["errorMessage"]
        result = env.invoke({})
        assert result.error_phase == "init" and result.error_type == "Runtime.ImportModuleError"


def test_handler_exception_is_an_invoke_error(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("raising.py"), handler="raising.lambda_handler") as emu:
        env = emu.start_environment("provisioned-concurrency")
        result = env.invoke({"n": 1})
        assert result.error_phase == "invoke" and not result.timed_out
        assert result.error_type == "ValueError"
        assert result.error_message == "bad input: 1"
        assert result.error is not None and isinstance(result.error["stackTrace"], list)
        assert "Status: error" in result.report_line and "Error Type: ValueError" in result.report_line
        assert env.alive  # a handled error keeps the environment
        assert env.invoke({"n": 2}).error_message == "bad input: 2"


def test_timeout_kills_the_environment(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("slow.py"), handler="slow.lambda_handler", timeout_s=1) as emu:
        env = emu.start_environment("provisioned-concurrency")
        assert env.invoke({"sleep": 0}).ok
        result = env.invoke({"sleep": 60})
        assert result.timed_out and result.error_phase == "invoke"
        assert result.error_type == "Sandbox.Timedout"
        assert result.error_message == f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds"
        assert 950 <= result.duration_ms < 3000  # the deadline, give or take timer granularity
        assert "Status: timeout" in result.report_line
        assert f"{result.request_id} Task timed out after 1.00 seconds" in env.logs()
        assert not env.alive and env.proc is not None and env.proc.returncode == -9
        with pytest.raises(EnvironmentDead):
            env.invoke({})
        replacement = emu.invoke({"sleep": 0})  # Lambda-style routing starts a new environment
        assert replacement.ok and replacement.cold and replacement.environment != env.name


def test_per_invoke_timeout(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("slow.py"), handler="slow.lambda_handler", timeout_s=30) as emu:
        result = emu.start_environment("provisioned-concurrency").invoke({"sleep": 60}, timeout_s=0.5)
        assert result.timed_out and "0.50 seconds" in str(result.error_message)


def test_init_timeout(task_root: Callable[..., Path]) -> None:
    """On-demand: INIT is cut at the limit and runs again inside the invoke, whose timeout then cuts it."""
    with Emulator(task_root("slow.py"), handler="slow.lambda_handler", env={"SLOW_INIT": "60"},
                  init_timeout_s=1, timeout_s=2) as emu:
        env = emu.start_environment("on-demand")
        result = env.invoke({})
        assert result.timed_out and result.error_type == "Sandbox.Timedout"
        assert result.error_message == f"RequestId: {result.request_id} Error: Task timed out after 2.00 seconds"
        assert result.reinit_duration_ms is not None and result.init_duration_ms is None
        assert not env.alive and env.proc is not None and env.proc.returncode == -9
        logs = env.logs()
        assert "Phase: init\tStatus: timeout" in logs and "Phase: invoke\tStatus: timeout" in logs


def test_provisioned_init_timeout_fails(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("slow.py"), handler="slow.lambda_handler", env={"SLOW_INIT": "60"},
                  init_timeout_s=1) as emu:
        env = emu.start_environment("provisioned-concurrency")
        result = env.invoke({})
        assert result.error_phase == "init" and result.error_type == "Sandbox.Timedout"
        assert "INIT phase timed out after 1.00 seconds" in str(result.error_message)
        assert not env.alive and not env.usable and env.proc is not None and env.proc.returncode == -9


def test_runtime_exit_during_invoke(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("slow.py"), handler="slow.crash") as emu:
        env = emu.start_environment("provisioned-concurrency")
        result = env.invoke({})
        assert result.error_type == "Runtime.ExitError"
        assert "exit status 3" in str(result.error_message)
        assert not env.alive


def test_restore_hook_failure(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("snap.py"), handler="snap.lambda_handler", env={"FAIL_AFTER_RESTORE": "1"}) as emu:
        env = emu.start_environment("snap-start")
        result = env.invoke({})
        assert result.error_phase == "restore"
        assert result.error_type == "RuntimeError" and result.error_message == "restore hook failed"
        assert not env.alive


def test_one_invoke_at_a_time(task_root: Callable[..., Path]) -> None:
    import threading

    with Emulator(task_root("slow.py"), handler="slow.lambda_handler") as emu:
        env = emu.start_environment("provisioned-concurrency")
        worker = threading.Thread(target=env.invoke, args=({"sleep": 1},))
        worker.start()
        with env.state.cond:  # wait until the runtime holds the event
            env.state.cond.wait_for(lambda: bool(env.state.inflight), timeout=10)
        with pytest.raises(EnvironmentBusy):
            env.invoke({})
        worker.join()


def test_reserved_variables_are_refused(task_root: Callable[..., Path]) -> None:
    with pytest.raises(ValueError, match="AWS_REGION"):
        Emulator(task_root(), env={"AWS_REGION": "x"})


def test_stop_is_idempotent_and_final(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler") as emu:
        env = emu.start_environment("provisioned-concurrency")
        pid = env.pid
        env.stop()
        env.stop()
        assert pid is not None and env.proc is not None and env.proc.returncode is not None
        with pytest.raises(EnvironmentDead):
            env.invoke({})
