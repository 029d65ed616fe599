"""Contract with upstream zappa: what upstream *does* that the provisioned-concurrency steps rely on.

``ProvisionedConcurrencyMixin`` overrides ``ZappaCLI`` methods, wraps a few ``Zappa`` (core) methods
for the length of a command, and relies on upstream's own ordering (PC READY before the alias moves).
The names and signatures it uses are in ``zappa_eager/upstream.py``, checked by
tests/test_upstream_contract.py; here, upstream's behaviour, read from its source. If one of these
tests fails after a zappa upgrade, re-read that upstream method before relaxing it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from zappa import cli as upstream_cli
from zappa import core as upstream_core
from zappa.cli import ZappaCLI
from zappa.core import Zappa

from zappa_eager.provisioning import (
    KEEP_WARM_EVENT,
    KEEP_WARM_FUNCTION,
    PC_ALIAS,
    ProvisionedConcurrencyMixin,
)


def source(function: Callable[..., Any]) -> str:
    return inspect.getsource(function)


def test_the_alias_is_upstreams() -> None:
    assert upstream_core.PROVISIONED_CONCURRENCY_LAMBDA_ALIAS == PC_ALIAS == "provisioned-concurrency"


def test_mixin_comes_before_zappa_cli_so_super_reaches_upstream() -> None:
    class Composed(ProvisionedConcurrencyMixin, ZappaCLI):  # type: ignore[misc]
        pass

    mro = Composed.__mro__
    assert mro.index(ProvisionedConcurrencyMixin) < mro.index(ZappaCLI)


def test_upstream_reads_pc_and_keep_warm_through_stage_config() -> None:
    """The mixin hands upstream an integer and keep_warm=false via override_stage_config_setting."""
    assert 'self.stage_config.get("provisioned_concurrency", None)' in source(ZappaCLI.load_settings)
    assert 'self.stage_config.get("keep_warm", True)' in source(ZappaCLI.schedule)


def test_upstream_waits_for_ready_before_moving_the_alias() -> None:
    """The no-window guarantee on update is upstream's: PC put on the new version, READY, then the alias."""
    body = source(Zappa.update_lambda_configuration)
    put = body.index("put_provisioned_concurrency_config")
    wait = body.index("wait_until_lambda_function_provisioned_concurrency_is_ready")
    move = body.index("PROVISIONED_CONCURRENCY_LAMBDA_ALIAS")
    delete_old = body.index("delete_provisioned_concurrency_config")
    assert put < wait < move < delete_old
    assert "Qualifier=version" in body[put:wait]  # PC lives on the version, not on the alias
    create = source(Zappa.create_lambda_function)
    assert create.index("wait_until_lambda_function_provisioned_concurrency_is_ready") < create.index(
        "Name=PROVISIONED_CONCURRENCY_LAMBDA_ALIAS"
    )
    rollback = source(Zappa.rollback_lambda_function_version)
    assert rollback.index("wait_until_lambda_function_provisioned_concurrency_is_ready") < rollback.index(
        "PROVISIONED_CONCURRENCY_LAMBDA_ALIAS"
    )


def test_upstream_cli_passes_the_pc_integer_to_core() -> None:
    for method in (ZappaCLI.deploy, ZappaCLI.update, ZappaCLI.rollback):
        assert "provisioned_concurrency=self.provisioned_concurrency" in source(method)


def test_upstream_callers_the_mixin_reroutes_are_still_unqualified() -> None:
    """If upstream starts qualifying these itself, the wrappers become redundant (and may double-qualify)."""
    assert "self.zappa.deploy_lambda_function_url(**kwargs)" in source(ZappaCLI.deploy)
    assert "self.zappa.update_lambda_function_url(**kwargs)" in source(ZappaCLI.update)
    assert 'lambda_arn=function_response["Configuration"]["FunctionArn"]' in source(ZappaCLI.schedule)
    assert "Qualifier" not in source(Zappa.deploy_lambda_function_url)
    assert "self.unschedule_events(" in source(Zappa.schedule_events)
    assert "self.create_event_permission(lambda_name" in source(Zappa.schedule_events)


def test_upstream_keep_warm_event_is_named_as_the_mixin_expects() -> None:
    body = source(ZappaCLI.schedule)
    assert f'"name": "{KEEP_WARM_EVENT}"' in body
    assert f'"function": "{KEEP_WARM_FUNCTION}"' in body
    assert callable(Zappa.delete_rule) and callable(Zappa.get_scheduled_event_name)


def test_upstream_status_prints_one_json_document() -> None:
    assert "print(json.dumpsJSON(status_dict))" in source(ZappaCLI.status)
    assert upstream_cli.json.__name__ == "hjson"


def test_upstream_api_gateway_uses_the_qualifier() -> None:
    assert "lambda_qualifier=self.apigateway_lambda_qualifier" in source(ZappaCLI.deploy)
    assert "lambda_qualifier=self.apigateway_lambda_qualifier" in source(ZappaCLI.update)
    assert "PROVISIONED_CONCURRENCY_LAMBDA_ALIAS" in source(ZappaCLI.load_settings)


def test_upstream_undeploy_asks_before_touching_anything() -> None:
    """The mixin asks the same question itself, so that answering "n" also leaves autoscaling alone."""
    body = source(ZappaCLI.undeploy)
    assert body.index('input("Are you sure you want to undeploy? [y/n] ")') < body.index("self.unschedule()")


def test_the_shipped_cli_composes_the_mixin_first() -> None:
    eager_cli = pytest.importorskip("zappa_eager.cli")
    mro = eager_cli.EagerZappaCLI.__mro__
    assert mro.index(ProvisionedConcurrencyMixin) < mro.index(ZappaCLI)
