"""The provisioned-concurrency steps around upstream's commands: PC and autoscaling follow the alias.

Upstream zappa 0.63 already puts PC on each new *version*, waits for READY and only then moves
its ``provisioned-concurrency`` alias. ``ProvisionedConcurrency`` runs each upstream command
(handed in as a callable) with what upstream leaves out: the callers routed to the alias, an
Application Auto Scaling target on the version the alias points to (moved along on
update/rollback, removed on undeploy), PC released from versions nobody routes to after a
failure, and the keep-warm rule PC makes useless. Tooling module.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click
from botocore.exceptions import ClientError
from click import ClickException

from zappa_eager.patching import patched
from zappa_eager.provisioning import status as pc_status
from zappa_eager.provisioning.autoscaling import (
    apply_autoscaling,
    function_targets,
    remove_autoscaling,
    resource_id,
    set_suspended,
)
from zappa_eager.provisioning.aws import alias_version, error_code, pc_allocation
from zappa_eager.provisioning.config import ProvisionedConcurrencyConfig
from zappa_eager.provisioning.routing import PC_ALIAS, route_callers_to_alias

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_lambda import LambdaClient

#: How upstream's schedule() names the keep-warm event (and so its CloudWatch rule).
KEEP_WARM_EVENT = "zappa-keep-warm"
KEEP_WARM_FUNCTION = "handler.keep_warm_callback"

T = TypeVar("T")


def is_pc_wait_failure(exc: BaseException) -> bool:
    """Upstream's READY wait raises RuntimeError on timeout or FAILED status."""
    return isinstance(exc, RuntimeError) and "provisioned concurrency" in str(exc).lower()


def _warning(text: str) -> None:
    click.echo(click.style("Warning!", fg="yellow", bold=True) + " " + text)


def remove_keep_warm_rule(zappa: Any, function_name: str) -> None:  # upstream Zappa is untyped
    """Upstream only clears rules when it has events to schedule; drop the keep-warm rule of an earlier deploy."""
    event = {"name": KEEP_WARM_EVENT, "function": KEEP_WARM_FUNCTION}
    zappa.delete_rule(zappa.get_scheduled_event_name(event, KEEP_WARM_FUNCTION, function_name))


class ProvisionedConcurrency:
    """One stage's PC config and the steps that keep PC and autoscaling on the alias's version.

    ``cli`` is upstream's ``ZappaCLI`` after ``load_settings``: its ``zappa``, ``lambda_name``,
    ``api_stage`` and ``use_function_url`` are read when a step runs, and its
    ``provisioned_concurrency`` (the integer upstream puts on a new version) is patched while
    an autoscaled version is replaced.
    """

    def __init__(self, cli: Any, config: ProvisionedConcurrencyConfig, *, keep_warm_skipped: bool = False) -> None:
        self.cli = cli
        self.config = config
        #: True when keep_warm was turned off for this stage because PC is on (the user did not set it).
        self.keep_warm_skipped = keep_warm_skipped

    @property
    def zappa(self) -> Any:
        return self.cli.zappa

    @property
    def function_name(self) -> str:
        return str(self.cli.lambda_name)

    @property
    def lambda_client(self) -> LambdaClient:
        """Upstream's Lambda client (its session: endpoint overrides apply)."""
        return cast("LambdaClient", self.zappa.lambda_client)  # upstream is untyped

    @functools.cached_property
    def autoscaling(self) -> ApplicationAutoScalingClient:
        """The Application Auto Scaling client, made through upstream's session (endpoint overrides apply)."""
        return cast("ApplicationAutoScalingClient", self.zappa.boto_client("application-autoscaling"))

    def routing(self) -> contextlib.AbstractContextManager[None]:
        return route_callers_to_alias(self.zappa, PC_ALIAS)

    # -- around upstream's commands --------------------------------------------------------
    def deploy(self, upstream: Callable[[], T]) -> T:
        """Upstream creates the version, its PC and the alias; then attach autoscaling to that version."""
        with self.routing():
            try:
                result = upstream()
            except RuntimeError as exc:
                if not is_pc_wait_failure(exc):
                    raise
                self.recover(old_version=None, frozen=None)
                raise ClickException(self.wait_failure_message(exc, None)) from exc
        self.settle()
        return result

    def update(self, upstream: Callable[[], T]) -> T:
        """Upstream moves the alias only once the new version's PC is READY; autoscaling follows it."""
        with self.routing(), self.moving_alias():
            return upstream()

    def rollback(self, upstream: Callable[[], T]) -> T:
        """Rollback publishes a version and moves the alias like update does; autoscaling follows."""
        with self.moving_alias():
            return upstream()

    def undeploy(self, upstream: Callable[[], T]) -> T:
        """Remove the scaling policy, scheduled actions and targets before upstream deletes the function."""
        self.remove_targets(keep=None)
        with self.routing():
            return upstream()

    def schedule(self, upstream: Callable[[], T]) -> T:
        if self.keep_warm_skipped:
            _warning(
                f"keep_warm is skipped for stage '{self.cli.api_stage}': provisioned concurrency "
                f"({self.config.describe()}) keeps environments initialized, so a keep-warm ping only adds "
                'invocations. Set "keep_warm" explicitly in the stage to schedule it anyway.'
            )
            self.remove_keep_warm_rule()
        with self.routing():
            return upstream()

    def unschedule(self, upstream: Callable[[], T]) -> T:
        with self.routing():
            return upstream()

    def status(self, upstream: Callable[..., T], return_json: bool) -> T:
        """Upstream's status plus allocated/requested PC, the scaling range and the utilization target."""
        with self.routing():
            return pc_status.show_status(upstream, return_json, self.status_dict, pc_status.lines,
                                         pc_status.JSON_KEY)

    def status_dict(self) -> dict[str, Any]:
        return pc_status.collect(
            self.lambda_client,
            self.autoscaling,
            self.function_name,
            self.config,
            with_function_url=bool(self.cli.use_function_url),
        )

    # -- moving PC and autoscaling with the alias ---------------------------------------
    @contextlib.contextmanager
    def moving_alias(self) -> Iterator[None]:
        """Around an upstream step that publishes a version and moves the alias to it."""
        config = self.config
        old_version = self.alias_version()
        frozen: str | None = None
        with contextlib.ExitStack() as stack:
            if config.autoscaling and old_version is not None:
                # Start the new version at the capacity autoscaling reached, so an update never shrinks a busy pool.
                requested = self.requested(old_version)
                start = config.clamp(requested if requested is not None else config.min)
                stack.enter_context(patched(self.cli, "provisioned_concurrency", start))
                frozen = self.freeze(old_version)
            try:
                yield
            except BaseException as exc:
                self.recover(old_version, frozen)
                if is_pc_wait_failure(exc):
                    raise ClickException(self.wait_failure_message(exc, old_version)) from exc
                raise
        self.settle()

    def settle(self) -> None:
        """Autoscaling on the alias's version, and nothing left on any other version."""
        version = self.alias_version()
        if version is None:
            _warning(f"No '{PC_ALIAS}' alias on {self.function_name}.")
            return
        keep = None
        if self.config.autoscaling:
            keep = apply_autoscaling(self.autoscaling, self.function_name, version, self.config)
            click.echo(f"Provisioned concurrency: {self.config.describe()} on {keep} ('{PC_ALIAS}' alias).")
        self.remove_targets(keep=keep)

    def freeze(self, version: str) -> str | None:
        """Suspend scaling of the outgoing version so it cannot re-create PC upstream is about to delete."""
        target = resource_id(self.function_name, version)
        if target not in function_targets(self.autoscaling, self.function_name):
            return None
        set_suspended(self.autoscaling, target, True)
        return target

    def recover(self, old_version: str | None, frozen: str | None) -> None:
        """After a failed update: finish the move if the alias moved, else resume and release new PC."""
        try:
            if self.alias_version() not in (None, old_version):
                self.settle()
                return
            if frozen is not None:
                set_suspended(self.autoscaling, frozen, False)
            self.release_unrouted(newer_than=old_version)
        except Exception as exc:  # never hide the original failure
            _warning(f"Provisioned concurrency cleanup failed: {exc}")

    def release_unrouted(self, newer_than: str | None) -> None:
        """Delete PC that upstream put on versions the alias never reached (billed while allocated)."""
        client = self.lambda_client
        routed = self.alias_version()
        configs = client.list_provisioned_concurrency_configs(FunctionName=self.function_name)
        for item in configs.get("ProvisionedConcurrencyConfigs", []):
            qualifier = item["FunctionArn"].rsplit(":", 1)[-1]
            if not qualifier.isdigit() or qualifier == routed:
                continue
            if newer_than is None or int(qualifier) > int(newer_than):
                client.delete_provisioned_concurrency_config(FunctionName=self.function_name, Qualifier=qualifier)
                click.echo(f"Released provisioned concurrency of unused version {qualifier}.")

    def wait_failure_message(self, exc: BaseException, old_version: str | None) -> str:
        stage = self.cli.api_stage
        where = f"still points at version {old_version}" if old_version else "was not created"
        return (
            f"{exc}. The '{PC_ALIAS}' alias {where}, so no traffic reached the new version; the provisioned "
            f"concurrency put on it has been released. Check its INIT errors (zappa tail {stage}) and "
            f"the account's unreserved concurrency, then run zappa update {stage}."
        )

    def remove_targets(self, keep: str | None) -> None:
        """Deregister every PC target of the function except ``keep`` (with an integer PC: best effort)."""
        client = self.autoscaling
        try:
            for target in function_targets(client, self.function_name):
                if target != keep:
                    remove_autoscaling(client, target)
                    click.echo(f"Removed provisioned concurrency autoscaling of {target}.")
        except ClientError as exc:
            if self.config.autoscaling:
                raise
            if "AccessDenied" not in error_code(exc):
                click.echo(f"Could not check for leftover provisioned concurrency autoscaling: {exc}")

    def remove_keep_warm_rule(self) -> None:
        remove_keep_warm_rule(self.zappa, self.function_name)

    # -- small AWS reads -------------------------------------------------------------------
    def alias_version(self) -> str | None:
        return alias_version(self.lambda_client, self.function_name, PC_ALIAS)

    def requested(self, version: str) -> int | None:
        allocation = pc_allocation(self.lambda_client, self.function_name, version)
        return int(allocation["requested"]) if allocation["status"] != "NONE" else None
