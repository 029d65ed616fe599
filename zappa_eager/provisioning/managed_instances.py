"""The Lambda Managed Instances steps around upstream's commands: capacity provider, publish, alias.

Choice: numbered versions and the alias zappa-eager already routes callers to for provisioned
concurrency (``PC_ALIAS``), not ``$LATEST.PUBLISHED``. An LMI version starts its environments (and
runs every INIT) when it is published and turns Active only once they are up; the alias moves to it
only then, so no caller ever reaches a version that is still starting, ``rollback`` is upstream's
(a new version from older code) plus the same alias move, and API Gateway, schedules, event sources
and the function URL are routed exactly as with provisioned concurrency (``routing``). The version
the alias leaves is scaled to zero environments (``PutFunctionScalingConfig``) so it stops using
capacity but can still be rolled back to.

Upstream publishes on CreateFunction and UpdateFunctionCode; on LMI each published version starts
environments, so those publishes are turned off and one version is published after the configuration
is written. Tooling module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click
from botocore.exceptions import WaiterError
from click import ClickException

from zappa_eager.patching import patched
from zappa_eager.provisioning import capacity_provider as cp
from zappa_eager.provisioning import lmi_status
from zappa_eager.provisioning.aws import alias_version
from zappa_eager.provisioning.deploy import remove_keep_warm_rule
from zappa_eager.provisioning.lmi_config import ManagedInstancesConfig
from zappa_eager.provisioning.routing import PC_ALIAS, route_callers_to_alias
from zappa_eager.provisioning.status import show_status

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.type_defs import FunctionScalingConfigTypeDef

T = TypeVar("T")

#: The alias every caller invokes (the provisioned-concurrency alias: one routing for both).
ALIAS = PC_ALIAS
#: What a version the alias left is scaled to: no environments, still there for rollback.
RETIRED_SCALING: FunctionScalingConfigTypeDef = {"MinExecutionEnvironments": 0, "MaxExecutionEnvironments": 0}


class ManagedInstances:
    """One stage's ``managed_instances`` and the steps that keep the function, its versions and alias on it."""

    def __init__(self, cli: Any, config: ManagedInstancesConfig, waiting: cp.Waiting | None = None) -> None:
        self.cli = cli
        self.config = config
        self.waiting = waiting or cp.Waiting()
        #: The capacity provider's ARN once ``ensure_capacity_provider`` ran.
        self.capacity_provider_arn: str | None = config.capacity_provider_arn

    @property
    def zappa(self) -> Any:
        return self.cli.zappa

    @property
    def function_name(self) -> str:
        return str(self.cli.lambda_name)

    @property
    def lambda_client(self) -> LambdaClient:
        return cast("LambdaClient", self.zappa.lambda_client)  # upstream is untyped

    @property
    def iam(self) -> IAMClient:
        return cast("IAMClient", self.zappa.iam_client)

    @property
    def provider_name(self) -> str:
        if self.config.capacity_provider_arn is not None:
            return cp.name_of(self.config.capacity_provider_arn)
        return cp.provider_name(self.function_name)

    # -- the capacity provider ------------------------------------------------------------
    def ensure_capacity_provider(self) -> str:
        """Attach one (wait until Active), or create ours / apply its scaling (wait until Active); the ARN.

        A capacity provider of the generated name that this stage did not create is never changed: an error.
        """
        spec = self.config.create
        name = self.provider_name
        provider = cp.get(self.lambda_client, name)
        if spec is not None and provider is None:
            role = spec.operator_role_arn or cp.ensure_operator_role(self.iam, self.function_name)[0]
            cp.create(self.lambda_client, name, spec, role, self.function_name, self.waiting)
        elif spec is not None and provider is not None:
            arn = str(provider["CapacityProviderArn"])
            if cp.owner(self.lambda_client, arn) != self.function_name:
                raise ClickException(
                    f"A capacity provider named {name} exists and zappa-eager did not create it for stage "
                    f"'{self.cli.api_stage}': attach it with \"managed_instances\": {{\"capacity_provider_arn\": "
                    f"\"{arn}\"}}, or delete it."
                )
            if provider["State"] == "Active" and cp.update_scaling(self.lambda_client, provider, spec):
                provider = None  # read it again once the update is applied
        if provider is None or provider["State"] != "Active":
            provider = cp.wait_active(self.lambda_client, name, self.waiting)
        self.capacity_provider_arn = str(provider["CapacityProviderArn"])
        click.echo(f"Capacity provider {name} is Active.")
        return self.capacity_provider_arn

    # -- upstream's calls, shaped for LMI -------------------------------------------------
    @contextlib.contextmanager
    def shaping(self, arn: str) -> Iterator[None]:
        """Upstream's function calls carry ``CapacityProviderConfig`` and publish nothing themselves."""
        client = self.lambda_client
        config = self.config.function_config(arn)
        create_function = client.create_function
        update_configuration = client.update_function_configuration

        def on_lmi_create(**kwargs: Any) -> Any:
            return create_function(**{**kwargs, "Publish": False, "CapacityProviderConfig": config})

        def on_lmi_update(**kwargs: Any) -> Any:
            return update_configuration(**{**kwargs, "CapacityProviderConfig": config})

        with contextlib.ExitStack() as stack:
            stack.enter_context(patched(client, "create_function", on_lmi_create))
            stack.enter_context(patched(client, "update_function_configuration", on_lmi_update))
            zappa = self.zappa
            stack.enter_context(patched(zappa, "update_lambda_function", _unpublished(zappa.update_lambda_function)))
            stack.enter_context(patched(zappa, "rollback_lambda_function_version",
                                        _unpublished(zappa.rollback_lambda_function_version)))
            create_lambda_function = self.zappa.create_lambda_function

            def create_then_publish(**kwargs: Any) -> Any:
                arn_of_function = create_lambda_function(**kwargs)
                self.publish_and_route()  # before upstream grants API Gateway the alias
                return arn_of_function

            stack.enter_context(patched(self.zappa, "create_lambda_function", create_then_publish))
            yield

    def routing(self) -> contextlib.AbstractContextManager[None]:
        return route_callers_to_alias(self.zappa, ALIAS)

    def publish_and_route(self) -> str:
        """Publish one version, wait until its environments are up (Active), move the alias, retire the old one."""
        client = self.lambda_client
        self.zappa.wait_until_lambda_function_is_updated(self.function_name)
        version = str(client.publish_version(FunctionName=self.function_name)["Version"])
        click.echo(f"Published version {version}; waiting until its environments are up (INIT runs now)..")
        try:
            self.zappa.wait_until_lambda_function_version_is_active(self.function_name, version)
        except WaiterError as exc:
            raise ClickException(
                f"Version {version} did not become Active ({exc}). The '{ALIAS}' alias did not move, so no caller "
                f"reached it. Check its INIT errors (zappa tail {self.cli.api_stage}) and the capacity provider's "
                f"room (max_vcpus), then run zappa update {self.cli.api_stage}."
            ) from exc
        old = self.zappa.migrate_lambda_alias(self.function_name, ALIAS, version, create_if_missing=True)
        click.echo(f"The '{ALIAS}' alias now points at version {version}.")
        if old is not None and str(old) != version:
            client.put_function_scaling_config(FunctionName=self.function_name, Qualifier=str(old),
                                               FunctionScalingConfig=RETIRED_SCALING)
            click.echo(f"Version {old} scaled to zero environments (kept for rollback).")
        return version

    # -- around upstream's commands --------------------------------------------------------
    def deploy(self, upstream: Callable[[], T]) -> T:
        arn = self.ensure_capacity_provider()
        with self.routing(), self.shaping(arn):
            return upstream()

    def update(self, upstream: Callable[[], T]) -> T:
        arn = self.ensure_capacity_provider()
        with self.routing(), self.shaping(arn):
            result = upstream()
        self.publish_and_route()
        return result

    def rollback(self, upstream: Callable[[], T]) -> T:
        """Upstream rolls the code back (unpublished); then publish, wait, move the alias. Creates nothing."""
        provider = cp.wait_active(self.lambda_client, self.provider_name, self.waiting)
        with self.shaping(str(provider["CapacityProviderArn"])):
            result = upstream()
        self.publish_and_route()
        return result

    def undeploy(self, upstream: Callable[[], T]) -> T:
        """Upstream deletes the function; then the capacity provider and operator role, if this stage made them."""
        with self.routing():
            result = upstream()
        provider = cp.get(self.lambda_client, self.provider_name)
        if provider is None:
            return result
        made_by = cp.owner(self.lambda_client, str(provider["CapacityProviderArn"]))
        if made_by != self.function_name:
            click.echo(f"Capacity provider {self.provider_name} stays: zappa-eager did not create it for this stage.")
            return result
        if cp.delete_when_unused(self.lambda_client, self.provider_name, self.function_name, self.waiting):
            cp.delete_operator_role(self.iam, self.function_name)
        return result

    def schedule(self, upstream: Callable[[], T]) -> T:
        if self.config.keep_warm_skipped:
            click.echo(f"keep_warm is off for stage '{self.cli.api_stage}': Lambda Managed Instances never starts "
                       "an environment for a request.")
            remove_keep_warm_rule(self.zappa, self.function_name)
        with self.routing():
            return upstream()

    def unschedule(self, upstream: Callable[[], T]) -> T:
        with self.routing():
            return upstream()

    def status(self, upstream: Callable[..., T], return_json: bool) -> T:
        """Upstream's status plus the capacity provider, its scaling, and the alias's version on it."""
        with self.routing():
            return show_status(upstream, return_json, self.status_dict, lmi_status.lines, lmi_status.JSON_KEY)

    def status_dict(self) -> dict[str, Any]:
        return lmi_status.collect(self.lambda_client, self.function_name, self.provider_name, ALIAS,
                                  version=alias_version(self.lambda_client, self.function_name, ALIAS),
                                  configured=self.config.describe())


def _unpublished(original: Callable[..., T]) -> Callable[..., T]:
    """Upstream's code update or rollback without its own publish (on LMI every version starts environments)."""

    def call(*args: Any, **kwargs: Any) -> T:
        return original(*args, **{**kwargs, "publish": False})

    return call
