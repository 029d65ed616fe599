"""``zappa revert-to-upstream STAGE [--dry-run] [--yes]``: a deployed stage back to plain upstream Zappa, in order.

It reads AWS, lists every change in the order of ``revert_plan.PHASES`` (autoscaling, unrouted
provisioned concurrency, callers, upstream's package), asks, then makes them one by one. Each
change is idempotent and the plan is read from AWS, so a second run finds nothing to do and a
run stopped by an error is finished by running it again. It never edits zappa_settings.json: it
ends by saying what to change there, after which uninstalling zappa-eager is safe. Tooling module.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import click
from botocore.exceptions import ClientError
from click import ClickException

from zappa_eager.provisioning.autoscaling import (
    alarm_prefix,
    delete_policy,
    delete_scheduled_action,
    deregister_target,
    function_targets,
    target_policies,
    target_scheduled_actions,
)
from zappa_eager.provisioning.aws import alias_version, error_code
from zappa_eager.provisioning.revert_callers import caller_changes
from zappa_eager.provisioning.revert_code import code_changes
from zappa_eager.provisioning.revert_plan import PHASES, Change, Phase, Plan, Target
from zappa_eager.provisioning.routing import PC_ALIAS
from zappa_eager.settings import EAGER_KEYS

if TYPE_CHECKING:
    from zappa_eager.cli import EagerZappaCLI

COMMAND = "revert-to-upstream"


@dataclass(frozen=True)
class RevertOptions:
    stage: str
    dry_run: bool = False
    yes: bool = False
    provisioned_concurrency: int | None = None
    settings_file: str | None = None


def parse_options(argv: list[str]) -> RevertOptions:
    parser = argparse.ArgumentParser(
        prog=f"zappa {COMMAND}",
        description="Take a deployed stage back to plain upstream Zappa, in the right order. Every AWS change is "
        "listed before any is made; a second run finds nothing to do.",
    )
    parser.add_argument("stage", help="the stage in zappa_settings.json")
    parser.add_argument("--dry-run", action="store_true", help="list every AWS change, make none")
    parser.add_argument("-y", "--yes", action="store_true", help="make the changes without asking")
    parser.add_argument(
        "--provisioned-concurrency", type=int, metavar="N",
        help="the fixed provisioned concurrency to keep when the stage autoscales it (default: its min)",
    )
    parser.add_argument("-s", "--settings_file", help="the path to a Zappa settings file")
    args = parser.parse_args(argv)
    return RevertOptions(args.stage, args.dry_run, args.yes, args.provisioned_concurrency, args.settings_file)


def run_revert_command(cli: EagerZappaCLI, argv: list[str]) -> int:
    """Entry of ``zappa revert-to-upstream`` (``EagerZappaCLI.handle`` dispatches here)."""
    try:
        options = parse_options(list(argv))
    except SystemExit as exc:  # argparse: --help, or a bad argument (already explained on stderr)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return revert(cli, options)
    except ClickException as exc:
        exc.show()
        return exc.exit_code


def revert(cli: EagerZappaCLI, options: RevertOptions) -> int:
    cli.api_stage = options.stage
    cli.load_settings(options.settings_file)
    if cli.lmi is not None:  # upstream has no Lambda Managed Instances: nothing to revert to in place
        raise ClickException(
            f"Stage '{cli.api_stage}' runs on Lambda Managed Instances (managed_instances), which upstream Zappa "
            "does not support: move it back to on-demand or provisioned concurrency first (a new stage, then undeploy "
            "this one; docs/migrating.md), then revert that stage."
        )
    target = make_target(cli, options)
    check_deployed(target)
    click.echo(f"Taking stage '{target.stage}' ({target.function_name}) back to upstream Zappa. "
               "Every AWS change, in the order it is made:")
    plan = build_plan(target)
    for line in plan.lines():
        click.echo(line)
    count = len(plan.changes)
    if plan.empty:
        click.echo(f"Nothing to do: {target.function_name} is already as upstream Zappa leaves it.")
    elif options.dry_run:
        click.echo(f"Dry run: nothing was changed. Run zappa {COMMAND} {target.stage} to make these {count} changes; "
                   "after them:")
    else:
        confirm(target, count, options.yes)
        apply(plan, target)
        left = build_plan(target)
        if not left.empty:
            raise ClickException(
                f"{len(left.changes)} change(s) are still listed after the run (something changed meanwhile): "
                f"run zappa {COMMAND} {target.stage} again."
            )
        click.echo(f"Done: {count} change(s) made; a fresh read of AWS finds nothing left to revert.")
    for line in settings_advice(cli, target):
        click.echo(line)
    return 0


def make_target(cli: EagerZappaCLI, options: RevertOptions) -> Target:
    """The stage, with the integer upstream's ``provisioned_concurrency`` will hold (checked before any AWS call)."""
    config = cli.pc_config
    chosen = options.provisioned_concurrency
    pc_integer: int | None = None
    if config is None:
        if chosen is not None:
            raise ClickException(
                f"--provisioned-concurrency {chosen}: stage '{cli.api_stage}' sets no provisioned_concurrency, so "
                "upstream manages none; leave the option out."
            )
    elif not config.autoscaling:
        if chosen is not None and chosen != config.min:
            raise ClickException(
                f"--provisioned-concurrency {chosen}: stage '{cli.api_stage}' already sets the integer "
                f"provisioned_concurrency {config.min}, which upstream keeps; change the setting instead."
            )
        pc_integer = config.min
    else:
        pc_integer = config.min if chosen is None else chosen
        reserved = cli.lambda_concurrency
        if pc_integer < 1 or (isinstance(reserved, int) and pc_integer > reserved):
            raise ClickException(
                f"--provisioned-concurrency {pc_integer} must be at least 1"
                + (f" and at most lambda_concurrency ({reserved})" if isinstance(reserved, int) else "")
                + f" in stage '{cli.api_stage}': choose the fixed count upstream keeps on each version."
            )
    skipped = bool(cli.pc is not None and cli.pc.keep_warm_skipped)
    return Target(cli=cli, pc_integer=pc_integer, keep_warm_skipped=skipped)


def check_deployed(target: Target) -> None:
    try:
        target.function_arn  # noqa: B018 - the first AWS read: does the function exist?
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        raise ClickException(f"{target.function_name} does not exist: stage '{target.stage}' is not deployed, so "
                             "there is nothing to take back to upstream Zappa.") from exc


def build_plan(target: Target) -> Plan:
    """Every phase, in ``PHASES`` order, with the changes AWS still needs (read now)."""
    found: dict[str, tuple[list[Change], list[str]]] = {
        "autoscaling": (list(autoscaling_changes(target)), []),
        "concurrency": concurrency_changes(target),
        "callers": caller_changes(target),
        "code": code_changes(target),
    }
    return Plan([Phase(spec, *found[spec.key]) for spec in PHASES])


def apply(plan: Plan, target: Target) -> None:
    number = 0
    for index, phase in enumerate(plan.phases, 1):
        if phase.changes:
            click.echo(f"{index}. {phase.spec.title}")
        for change in phase.changes:
            number += 1
            click.echo(f"   [{number}] {change.text}")
            try:
                change.apply()
            except Exception as exc:
                raise ClickException(
                    f"change [{number}] failed: {exc}. The changes before it are made and the ones after it are not; "
                    f"run zappa {COMMAND} {target.stage} again to finish (it reads AWS again and lists only what is "
                    "left)."
                ) from exc


def confirm(target: Target, count: int, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise ClickException(f"{count} change(s) listed above and no terminal to confirm them: review them with "
                             f"--dry-run, then run zappa {COMMAND} {target.stage} --yes.")
    if input(f"Make these {count} change(s) to {target.function_name}? [y/N] ").strip().lower() not in ("y", "yes"):
        raise ClickException("Nothing was changed.")


# -- phase 1: autoscaling ----------------------------------------------------------------------
def autoscaling_changes(target: Target) -> Iterator[Change]:
    client = target.autoscaling
    name = target.function_name
    try:
        targets = function_targets(client, name)
    except ClientError as exc:
        if "AccessDenied" not in error_code(exc):
            raise
        raise ClickException(f"Cannot read Application Auto Scaling for {name} ({exc}): the revert must remove "
                             "its scalable targets first; grant application-autoscaling:Describe* and retry.") from exc
    for resource in targets:
        for policy in target_policies(client, resource):
            alarms = [a["AlarmName"] for a in policy.get("Alarms", [])]
            with_alarms = f" and its CloudWatch alarms {', '.join(alarms)}" if alarms else ""
            yield Change(f"scaling policy {policy['PolicyName']} on {resource}{with_alarms} deleted",
                         partial(delete_policy, client, resource, policy["PolicyName"]))
        for action in target_scheduled_actions(client, resource):
            yield Change(f"scheduled action {action['ScheduledActionName']} on {resource} deleted",
                         partial(delete_scheduled_action, client, resource, action["ScheduledActionName"]))
        yield Change(f"scalable target {resource} deregistered (its provisioned concurrency stays, now fixed)",
                     partial(deregister_target, client, resource))
    yield from alarm_changes(target)


def alarm_changes(target: Target) -> Iterator[Change]:
    """Target-tracking alarms still there: AWS deletes them with their policy, these outlived it (or will)."""
    cloudwatch = target.cloudwatch
    kwargs: dict[str, Any] = {"AlarmNamePrefix": alarm_prefix(target.function_name)}
    while True:
        page = cloudwatch.describe_alarms(**kwargs)
        for alarm in page.get("MetricAlarms", []):
            alarm_name = alarm["AlarmName"]
            yield Change(f"CloudWatch alarm {alarm_name} deleted (if its policy's deletion has not already)",
                         partial(cloudwatch.delete_alarms, AlarmNames=[alarm_name]))
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


# -- phase 2: provisioned concurrency nothing routes to ---------------------------------------
def concurrency_changes(target: Target) -> tuple[list[Change], list[str]]:
    client = target.lambda_client
    name = target.function_name
    routed = alias_version(client, name, PC_ALIAS)
    changes: list[Change] = []
    notes: list[str] = []
    kwargs: dict[str, Any] = {"FunctionName": name}
    while True:
        page = client.list_provisioned_concurrency_configs(**kwargs)
        for item in page.get("ProvisionedConcurrencyConfigs", []):
            qualifier = item["FunctionArn"].rsplit(":", 1)[-1]
            requested = item.get("RequestedProvisionedConcurrentExecutions")
            if qualifier == routed:
                if target.pc_integer is None:
                    notes.append(f"the '{PC_ALIAS}' alias's version {routed} keeps provisioned concurrency "
                                 f"{requested}: the stage sets no provisioned_concurrency and upstream leaves it "
                                 "(billed while allocated); delete it with aws lambda "
                                 f"delete-provisioned-concurrency-config --function-name {name} --qualifier {routed}")
                continue
            if not qualifier.isdigit():
                notes.append(f"provisioned concurrency on '{qualifier}' is not zappa's: left alone")
                continue
            changes.append(Change(
                f"provisioned concurrency {requested} of version {qualifier} released (the alias serves "
                f"{routed or 'no version'})",
                partial(_release, target, qualifier),
            ))
        if not page.get("NextMarker"):
            return changes, notes
        kwargs["Marker"] = page["NextMarker"]


def _release(target: Target, qualifier: str) -> None:
    try:
        target.lambda_client.delete_provisioned_concurrency_config(FunctionName=target.function_name,
                                                                   Qualifier=qualifier)
    except ClientError as exc:
        if "NotFound" not in error_code(exc):
            raise


# -- what the user changes afterwards ----------------------------------------------------------
def settings_advice(cli: EagerZappaCLI, target: Target) -> list[str]:
    raw = _raw_stage(cli)
    lines = [f"Now edit stage '{target.stage}' in zappa_settings.json, before any other zappa command (zappa-eager's "
             "update would route the callers to the alias again):"]
    present = [key for key in EAGER_KEYS if key in raw]
    if present:
        lines.append(f"  - remove {', '.join(present)} (zappa-eager's keys; upstream ignores them), or at least set "
                     '"eager_init": false')
    else:
        lines.append('  - nothing zappa-eager-specific is set (eager_init defaults to true only under zappa-eager)')
    if isinstance(raw.get("provisioned_concurrency"), dict) and target.pc_integer is not None:
        lines.append(f'  - "provisioned_concurrency": {target.pc_integer} (upstream accepts only an integer: the fixed '
                     "count now deployed)")
    if target.keep_warm_skipped:
        lines.append('  - "keep_warm": false if you do not want upstream\'s keep-warm rule (upstream defaults it on)')
    lines.append('Then pip uninstall -y zappa-eager && pip install "zappa==0.63.*" --force-reinstall is safe: AWS '
                 "already holds what upstream's zappa update keeps.")
    return lines


def _raw_stage(cli: EagerZappaCLI) -> dict[str, Any]:
    """The stage as written (``extends`` followed), without the overrides zappa-eager hands upstream."""
    merged: dict[str, Any] = {}
    stage: str | None = str(cli.api_stage)
    seen: set[str] = set()
    chain = []
    while stage and stage not in seen and stage in cli.zappa_settings:
        seen.add(stage)
        chain.append(cli.zappa_settings[stage])
        stage = cli.zappa_settings[stage].get("extends")
    for settings in reversed(chain):
        merged.update(settings)
    return merged
