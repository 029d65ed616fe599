"""Provisioned concurrency with autoscaling, over upstream's ``ZappaCLI``. Tooling: never imported in Lambda.

``provisioned_concurrency`` keeps upstream's integer (fixed PC) and also accepts an object
(``min``/``max``/``target_utilization``/cooldowns/``scheduled``). Upstream zappa 0.63 already
puts PC on each new *version*, waits for READY and only then moves its ``provisioned-concurrency``
alias; this package hands upstream the integer it expects, keeps an Application Auto Scaling
target on the version the alias points to, shows it in ``zappa status`` and routes the callers
upstream leaves on ``$LATEST`` (function URL, schedules, event sources) to the alias.

* ``config``: the setting's dataclasses and validation;
* ``routing``: the patches that point upstream's callers at the alias;
* ``autoscaling``: Application Auto Scaling calls over one client;
* ``deploy``: ``ProvisionedConcurrency``, the steps run around each upstream command;
* ``status``: what ``zappa status`` adds;
* ``mixin``: ``ProvisionedConcurrencyMixin``, the thin ``ZappaCLI`` overrides delegating to it (or to LMI's);
* Lambda Managed Instances (``managed_instances``): ``lmi_config`` (the setting), ``capacity_provider``
  (create/attach/wait/delete, the operator role), ``managed_instances`` (the steps around upstream's
  commands: publish, wait, alias, retire), ``lmi_status`` (what ``zappa status`` adds);
* ``revert`` (with ``revert_plan``, ``revert_callers``, ``revert_code``): ``zappa revert-to-upstream``.
"""

from __future__ import annotations

from zappa_eager.provisioning.config import (
    SETTING,
    ProvisionedConcurrencyConfig,
    ProvisionedConcurrencyError,
    ScheduledScaling,
    parse_provisioned_concurrency,
)
from zappa_eager.provisioning.deploy import KEEP_WARM_EVENT, KEEP_WARM_FUNCTION, ProvisionedConcurrency
from zappa_eager.provisioning.mixin import ProvisionedConcurrencyMixin
from zappa_eager.provisioning.routing import PC_ALIAS, AliasRouting, route_callers_to_alias

__all__ = [
    "KEEP_WARM_EVENT",
    "KEEP_WARM_FUNCTION",
    "PC_ALIAS",
    "SETTING",
    "AliasRouting",
    "ProvisionedConcurrency",
    "ProvisionedConcurrencyConfig",
    "ProvisionedConcurrencyError",
    "ProvisionedConcurrencyMixin",
    "ScheduledScaling",
    "parse_provisioned_concurrency",
    "route_callers_to_alias",
]
