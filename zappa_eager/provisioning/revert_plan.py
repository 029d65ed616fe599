"""The shape of ``zappa revert-to-upstream``'s plan: ordered phases of AWS changes, each listed before it is made.

The order is the point (docs/migrating.md): autoscaling goes first so that it cannot put
provisioned concurrency back while the rest moves; callers leave the alias before upstream's
``update`` schedules them on ``$LATEST`` (otherwise each scheduled event would run twice);
upstream's package goes last. Every change is found by reading AWS, not the settings, so a
second run, or a run after a failure, lists only what is still left. Tooling module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from zappa_eager.provisioning.routing import PC_ALIAS

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_lambda import LambdaClient


@dataclass(frozen=True)
class Change:
    """One AWS change: the line the plan shows, and the call that makes it (idempotent)."""

    text: str
    apply: Callable[[], object]


@dataclass(frozen=True)
class PhaseSpec:
    """A phase's place in the order, and why it is there."""

    key: str
    title: str
    why: str


#: The order of the phases: each one's ``why`` says what would go wrong if it ran later.
PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(
        "autoscaling",
        "Autoscaling removed (policies, their CloudWatch alarms, scheduled actions, scalable targets)",
        "first: a live scalable target would put provisioned concurrency back on the versions the next steps "
        "release, and a scheduled action could fire half-way",
    ),
    PhaseSpec(
        "concurrency",
        "Provisioned concurrency released from versions nothing routes to",
        "after autoscaling (which could re-create it); billed while allocated",
    ),
    PhaseSpec(
        "callers",
        f"Callers moved off the '{PC_ALIAS}' alias to the unqualified function ($LATEST)",
        "before upstream's update: it schedules events on $LATEST by the same rule names, so a rule still "
        "targeting the alias would run each scheduled event twice, and a second mapping would consume a stream twice",
    ),
    PhaseSpec(
        "code",
        "Upstream's package deployed (zappa update with eager_init off)",
        "last: upstream's update re-applies API Gateway, function URL, schedules and provisioned concurrency "
        "from the settings, and only upstream's own handler.py is left running",
    ),
)


@dataclass
class Phase:
    spec: PhaseSpec
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Plan:
    phases: list[Phase]

    @property
    def changes(self) -> list[Change]:
        return [change for phase in self.phases for change in phase.changes]

    @property
    def empty(self) -> bool:
        return not self.changes

    def lines(self) -> Iterator[str]:
        """The plan as printed: every phase in order, every change numbered."""
        number = 0
        for index, phase in enumerate(self.phases, 1):
            yield f"{index}. {phase.spec.title}"
            yield f"   why here: {phase.spec.why}"
            if not phase.changes:
                yield "   nothing to do"
            for change in phase.changes:
                number += 1
                yield f"   [{number}] {change.text}"
            for note in phase.notes:
                yield f"   note: {note}"


@dataclass
class Target:
    """The deployed stage the plan is about, and the clients it reads and changes it with."""

    cli: Any
    #: The integer upstream's ``provisioned_concurrency`` will hold after the revert (None: the stage sets none).
    pc_integer: int | None
    #: True when zappa-eager skipped keep_warm for this stage (PC on, keep_warm not set): upstream will schedule it.
    keep_warm_skipped: bool = False

    @property
    def zappa(self) -> Any:
        return self.cli.zappa

    @property
    def stage(self) -> str:
        return str(self.cli.api_stage)

    @property
    def function_name(self) -> str:
        return str(self.cli.lambda_name)

    @property
    def lambda_client(self) -> LambdaClient:
        return cast("LambdaClient", self.zappa.lambda_client)  # upstream is untyped

    @property
    def events_client(self) -> Any:
        return self.zappa.events_client

    @cached_property
    def autoscaling(self) -> ApplicationAutoScalingClient:
        return cast("ApplicationAutoScalingClient", self.zappa.boto_client("application-autoscaling"))

    @cached_property
    def cloudwatch(self) -> Any:
        return self.zappa.boto_client("cloudwatch")

    @cached_property
    def function_arn(self) -> str:
        return str(self.lambda_client.get_function(FunctionName=self.function_name)["Configuration"]["FunctionArn"])

    @property
    def alias_arn(self) -> str:
        return f"{self.function_arn}:{PC_ALIAS}"

    @property
    def events(self) -> list[dict[str, Any]]:
        events = self.cli.stage_config.get("events") or []
        return list(events) if isinstance(events, list) else []
