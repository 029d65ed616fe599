"""Lifecycles with real awslambdaric processes: on-demand, provisioned concurrency, SnapStart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from zappa_eager.emulator import Emulator, events, parse_report_line


def test_on_demand_spawns_on_first_invoke_and_reports_init_once(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler", function_name="shop-dev",
                  memory_mb=256) as emu:
        env = emu.start_environment("on-demand")
        assert env.pid is None  # nothing runs before the first request
        asked = time.time()
        first = env.invoke(events.api_gateway_v1("GET", "/healthz"))
        second = env.invoke(events.api_gateway_v1("GET", "/again"))

        assert first.ok and first.status_code == 200, first.error
        body = first.json()
        assert body["started"] > asked  # INIT ran inside this invoke
        assert body["path"] == "/healthz"
        assert body["environ"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
        assert body["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:shop-dev"
        assert first.init_duration_ms is not None and first.init_duration_ms > 0
        assert first.init_duration_ms == env.init_duration_ms
        assert first.latency_ms > first.init_duration_ms > first.duration_ms

        assert second.ok and second.json()["path"] == "/again"
        assert second.json()["pid"] == body["pid"]  # same environment, warm
        assert second.init_duration_ms is None and not second.cold

        first_report, second_report = parse_report_line(first.report_line), parse_report_line(second.report_line)
        assert "Init Duration" in first_report and "Init Duration" not in second_report
        assert first_report["RequestId"] == first.request_id
        assert first_report["Memory Size"] == 256
        assert 0 < float(first_report["Max Memory Used"]) < 256
        assert emu.reports == [first.report_line, second.report_line] == env.reports
        logs = env.logs()
        assert logs.index("hello: init done") < logs.index(f"START RequestId: {first.request_id}")
        assert logs.index(f"END RequestId: {first.request_id}") < logs.index(first.report_line)


def test_provisioned_environment_is_initialized_before_requests(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler") as emu:
        env = emu.start_environment("provisioned-concurrency")
        assert env.alive and env.init_duration_ms is not None
        asked = time.time()
        result = env.invoke(events.api_gateway_v2("GET", "/"))
        assert result.ok
        body = result.json()
        assert body["started"] < asked  # INIT finished before the request arrived
        assert body["environ"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
        assert result.init_duration_ms is None
        assert "Init Duration" not in result.report_line
        assert result.latency_ms < env.init_duration_ms + 1000


def test_lambda_environment_variables(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler", function_name="fn", memory_mb=1024,
                  env={"MY_SETTING": "a"}, region="eu-west-1") as emu:
        env = emu.start_environment("provisioned-concurrency", env={"MY_OTHER": "b"})
        body = env.invoke({}).json()
    environ = body["environ"]
    assert environ["LAMBDA_TASK_ROOT"] == body["cwd"]
    assert environ["MY_SETTING"] == "a" and environ["MY_OTHER"] == "b"
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == "fn"
    assert environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "1024"
    assert environ["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert environ["AWS_REGION"] == environ["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert environ["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fn"
    assert environ["_HANDLER"] == "hello.lambda_handler"
    assert environ["TZ"] == ":UTC" and environ["LANG"]
    assert environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert environ["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert "AWS_ENDPOINT_URL_S3" not in environ  # no S3 started
    assert not any(key.startswith(("DJANGO", "PYTEST", "VIRTUAL_ENV")) for key in environ)


def test_context_and_deadline(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler", timeout_s=7) as emu:
        body = emu.start_environment("provisioned-concurrency").invoke({}).json()
    assert 6000 < body["remaining_ms"] <= 7000


def test_snap_start_lifecycle_order(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("snap.py"), handler="snap.lambda_handler") as emu:
        env = emu.start_environment("snap-start")
        snapshot_logs = env.logs()
        assert "SNAP-MARK before_snapshot" in snapshot_logs  # INIT + before-snapshot hooks ran
        assert "SNAP-MARK after_restore" not in snapshot_logs  # waiting in restore/next
        assert env.init_duration_ms is not None and not env.restored

        first = env.invoke(events.api_gateway_v1("GET", "/"))
        second = env.invoke(events.api_gateway_v1("GET", "/"))
        assert first.ok and first.body == "snap-start"
        assert first.restore_duration_ms is not None and first.restore_duration_ms == env.restore_duration_ms
        assert first.init_duration_ms is None and first.cold
        report = parse_report_line(first.report_line)
        assert "Restore Duration" in report and "Init Duration" not in report
        assert "Restore Duration" not in second.report_line and second.restore_duration_ms is None

        lines = env.log_lines()
        order = [lines.index(marker) for marker in ("SNAP-MARK init", "SNAP-MARK before_snapshot")]
        order.append(next(i for i, line in enumerate(lines) if line.startswith("RESTORE_START")))
        order.append(lines.index("SNAP-MARK after_restore"))
        order.append(next(i for i, line in enumerate(lines) if line.startswith("RESTORE_REPORT")))
        order.append(lines.index("SNAP-MARK handler"))
        assert order == sorted(order), lines


def test_snap_start_explicit_restore(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("snap.py"), handler="snap.lambda_handler") as emu:
        env = emu.start_environment("snap-start", restore=True)
        assert env.restored and env.restore_duration_ms is not None
        assert "SNAP-MARK after_restore" in env.logs()
        result = env.invoke({})
        assert result.ok and result.restore_duration_ms is None


def test_init_report_is_parsed_from_logs(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler") as emu:
        env = emu.start_environment("provisioned-concurrency")
        assert env.init_report() == {"total_ms": 1.5, "ok": True, "event": "init"}
        env.invoke({"action": "print", "text": json.dumps({"zappa_eager_init": {"event": "later"}})})
        assert [r["event"] for r in env.init_reports()] == ["init", "later"]


def test_function_logs_are_captured_in_order(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler") as emu:
        env = emu.start_environment("provisioned-concurrency")
        result = env.invoke({"action": "print", "text": "inside the handler"})
        lines = env.log_lines()
        assert lines.index(f"START RequestId: {result.request_id} Version: $LATEST") \
            < lines.index("inside the handler") < lines.index(f"END RequestId: {result.request_id}")
        assert lines[0].startswith("INIT_START")


def test_emulator_invoke_routes_to_idle_warm_environments(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("hello.py"), handler="hello.lambda_handler") as emu:
        first = emu.invoke({})
        second = emu.invoke({})
        assert first.cold and not second.cold
        assert first.json()["pid"] == second.json()["pid"]
        assert len(emu.environments) == 1


def test_environments_run_concurrently(task_root: Callable[..., Path]) -> None:
    import threading

    with Emulator(task_root("slow.py"), handler="slow.lambda_handler") as emu:
        envs = [emu.start_environment("provisioned-concurrency") for _ in range(3)]
        results: dict[str, object] = {}

        def call(env: object) -> None:
            results[env.name] = env.invoke({"sleep": 0.5})  # type: ignore[attr-defined]

        threads = [threading.Thread(target=call, args=(env,)) for env in envs]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        assert all(r.ok for r in results.values())  # type: ignore[attr-defined]
        assert elapsed < 1.4  # three 0.5 s invokes overlapped
        assert len({env.pid for env in envs}) == 3


def test_burst_routing_gives_each_concurrent_request_its_own_environment(task_root: Callable[..., Path]) -> None:
    import threading

    with Emulator(task_root("slow.py"), handler="slow.lambda_handler") as emu:
        warm = emu.start_environment("provisioned-concurrency")
        gate = threading.Barrier(5)
        results = []

        def one() -> None:
            gate.wait()
            results.append(emu.invoke({"sleep": 0.3}))

        threads = [threading.Thread(target=one) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 5 and all(r.ok for r in results), [r.error for r in results]
        assert len({r.environment for r in results}) == 5  # nobody queued behind a busy environment
        assert sum(r.cold for r in results) == 4  # the pre-initialized one served the fifth request warm
        assert warm.name in {r.environment for r in results}
        after = emu.invoke({"sleep": 0})
        assert not after.cold and len(emu.environments) == 5
