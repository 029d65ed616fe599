"""``ProvisionedConcurrencyMixin``: the ``ZappaCLI`` overrides, each handing upstream's method to a helper.

``load_settings`` validates ``provisioned_concurrency`` before upstream creates any AWS client,
gives upstream the integer it understands, and keeps the stage's PC as ``self.pc``
(``zappa_eager.provisioning.deploy.ProvisionedConcurrency``). Every command override then
passes upstream's own method to ``self.pc``, which runs the PC and autoscaling steps around
it. Without ``provisioned_concurrency`` every override is upstream's method, untouched.
Tooling module.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from click import ClickException

from zappa_eager.provisioning.config import (
    SETTING,
    ProvisionedConcurrencyConfig,
    ProvisionedConcurrencyError,
    parse_provisioned_concurrency,
)
from zappa_eager.provisioning.deploy import ProvisionedConcurrency

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

    @property
    def pc_config(self) -> ProvisionedConcurrencyConfig | None:
        return None if self.pc is None else self.pc.config

    # -- settings ------------------------------------------------------------------------
    def load_settings(self, settings_file: str | None = None, session: Any = None) -> Any:
        """Validate ``provisioned_concurrency`` first, then give upstream the integer it understands."""
        self.load_settings_file(settings_file)
        self.pc = None
        if self.api_stage in self.zappa_settings:
            self._drop_own_overrides()
            config = self._parse_stage()
            if config is not None:
                self.pc = ProvisionedConcurrency(self, config)
                self._override(SETTING, config.initial)
                if "keep_warm" not in self.stage_config:
                    self._override("keep_warm", False)
                    self.pc.keep_warm_skipped = True
        return super().load_settings(settings_file, session)

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
        return upstream() if self.pc is None else self.pc.deploy(upstream)

    def update(
        self, source_zip: str | None = None, no_upload: bool = False, docker_image_uri: str | None = None
    ) -> Any:
        upstream = functools.partial(super().update, source_zip, no_upload, docker_image_uri)
        return upstream() if self.pc is None else self.pc.update(upstream)

    def rollback(self, revision: int) -> Any:
        upstream = functools.partial(super().rollback, revision)
        return upstream() if self.pc is None else self.pc.rollback(upstream)

    def undeploy(self, no_confirm: bool = False, remove_logs: bool = False) -> Any:
        if self.pc is None:
            return super().undeploy(no_confirm, remove_logs)
        if not no_confirm:  # pragma: no cover - interactive; asked here so "n" leaves autoscaling alone
            if input("Are you sure you want to undeploy? [y/n] ") != "y":
                return None
        return self.pc.undeploy(functools.partial(super().undeploy, no_confirm=True, remove_logs=remove_logs))

    def schedule(self) -> Any:
        return super().schedule() if self.pc is None else self.pc.schedule(super().schedule)

    def unschedule(self) -> Any:
        return super().unschedule() if self.pc is None else self.pc.unschedule(super().unschedule)

    def status(self, return_json: bool = False) -> Any:
        if self.pc is None:
            return super().status(return_json)
        return self.pc.status(super().status, return_json)
