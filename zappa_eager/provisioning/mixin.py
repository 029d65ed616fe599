"""``ProvisionedConcurrencyMixin``: the ``ZappaCLI`` overrides, each handing upstream's method to a helper.

``load_settings`` validates ``provisioned_concurrency`` before upstream creates any AWS client,
gives upstream the integer it understands, and keeps the stage's PC as ``self.pc``
(``zappa_eager.provisioning.deploy.ProvisionedConcurrency``). Every command override then
passes upstream's own method to ``self.pc``, which runs the PC and autoscaling steps around
it. ``managed_instances`` (Lambda Managed Instances) is loaded the same way into ``self.lmi``
(``zappa_eager.provisioning.managed_instances.ManagedInstances``); the two exclude each other.
Without either, every override is upstream's method, untouched. Tooling module.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any

from click import ClickException
from zappa.utilities import get_runtime_from_python_version

from zappa_eager.provisioning.config import (
    SETTING,
    ProvisionedConcurrencyConfig,
    ProvisionedConcurrencyError,
    parse_provisioned_concurrency,
)
from zappa_eager.provisioning.deploy import ProvisionedConcurrency
from zappa_eager.provisioning.lmi_config import ManagedInstancesError, parse_managed_instances
from zappa_eager.provisioning.managed_instances import ALIAS as LMI_ALIAS
from zappa_eager.provisioning.managed_instances import ManagedInstances

if TYPE_CHECKING:
    from zappa.cli import ZappaCLI as _CLIBase
else:
    _CLIBase = object

#: Instance attribute holding the stage settings this mixin overrode (so a reload can drop them).
_OWNED_OVERRIDES = "_pc_owned_overrides"


class ProvisionedConcurrencyMixin(_CLIBase):  # type: ignore[misc]  # zappa ships no types: ZappaCLI is Any
    """Cooperative overrides of ``ZappaCLI``: every method calls ``super()``; place it before ``ZappaCLI``."""

    #: The stage's provisioned concurrency and its steps; None when the stage does not set it.
    pc: ProvisionedConcurrency | None = None
    #: The stage's Lambda Managed Instances steps; None when the stage does not set ``managed_instances``.
    lmi: ManagedInstances | None = None

    @property
    def pc_config(self) -> ProvisionedConcurrencyConfig | None:
        return None if self.pc is None else self.pc.config

    # -- settings ------------------------------------------------------------------------
    def load_settings(self, settings_file: str | None = None, session: Any = None) -> Any:
        """Validate ``provisioned_concurrency`` first, then give upstream the integer it understands."""
        self.load_settings_file(settings_file)
        self.pc = None
        self.lmi = None
        if self.api_stage in self.zappa_settings:
            self._drop_own_overrides()
            self._load_managed_instances()
            config = self._parse_stage()
            if config is not None:
                self.pc = ProvisionedConcurrency(self, config)
                self._override(SETTING, config.initial)
                if "keep_warm" not in self.stage_config:
                    self._override("keep_warm", False)
                    self.pc.keep_warm_skipped = True
        return super().load_settings(settings_file, session)

    def _load_managed_instances(self) -> None:
        """``managed_instances``: validated, keep_warm off unless set, API Gateway on the alias unless set."""
        stage = self.stage_config
        try:
            config = parse_managed_instances(stage, self.api_stage, get_runtime_from_python_version())
        except ManagedInstancesError as exc:
            raise ClickException(str(exc)) from exc
        if config is None:
            return
        if "keep_warm" not in stage:
            self._override("keep_warm", False)
            config = dataclasses.replace(config, keep_warm_skipped=True)
        if stage.get("apigateway_lambda_qualifier") is None:
            self._override("apigateway_lambda_qualifier", LMI_ALIAS)
        self.lmi = ManagedInstances(self, config)

    @property
    def _steps(self) -> ProvisionedConcurrency | ManagedInstances | None:
        return self.pc if self.pc is not None else self.lmi

    def _parse_stage(self) -> ProvisionedConcurrencyConfig | None:
        stage = self.stage_config
        try:
            return parse_provisioned_concurrency(
                stage.get(SETTING),
                stage=self.api_stage,
                lambda_concurrency=stage.get("lambda_concurrency"),
                snap_start=stage.get("snap_start"),
            )
        except ProvisionedConcurrencyError as exc:
            raise ClickException(str(exc)) from exc

    def _override(self, key: str, value: Any) -> None:
        self.override_stage_config_setting(key, value)
        owned: set[str] = self.__dict__.setdefault(_OWNED_OVERRIDES, set())
        owned.add(key)

    def _drop_own_overrides(self) -> None:
        """A second load_settings must read the user's object again, not the integer we handed upstream."""
        overrides = getattr(self, "_stage_config_overrides", {}).get(self.api_stage, {})
        for key in self.__dict__.pop(_OWNED_OVERRIDES, set()):
            overrides.pop(key, None)

    # -- commands: upstream's method, run by the PC steps when the stage has PC ----------
    def deploy(self, source_zip: str | None = None, docker_image_uri: str | None = None) -> Any:
        upstream = functools.partial(super().deploy, source_zip, docker_image_uri)
        steps = self._steps
        return upstream() if steps is None else steps.deploy(upstream)

    def update(
        self, source_zip: str | None = None, no_upload: bool = False, docker_image_uri: str | None = None
    ) -> Any:
        upstream = functools.partial(super().update, source_zip, no_upload, docker_image_uri)
        steps = self._steps
        return upstream() if steps is None else steps.update(upstream)

    def rollback(self, revision: int) -> Any:
        upstream = functools.partial(super().rollback, revision)
        steps = self._steps
        return upstream() if steps is None else steps.rollback(upstream)

    def undeploy(self, no_confirm: bool = False, remove_logs: bool = False) -> Any:
        steps = self._steps
        if steps is None:
            return super().undeploy(no_confirm, remove_logs)
        if not no_confirm:  # pragma: no cover - interactive; asked here so "n" leaves autoscaling alone
            if input("Are you sure you want to undeploy? [y/n] ") != "y":
                return None
        return steps.undeploy(functools.partial(super().undeploy, no_confirm=True, remove_logs=remove_logs))

    def schedule(self) -> Any:
        steps = self._steps
        return super().schedule() if steps is None else steps.schedule(super().schedule)

    def unschedule(self) -> Any:
        steps = self._steps
        return super().unschedule() if steps is None else steps.unschedule(super().unschedule)

    def status(self, return_json: bool = False) -> Any:
        steps = self._steps
        if steps is None:
            return super().status(return_json)
        return steps.status(super().status, return_json)
