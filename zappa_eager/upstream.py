"""Everything zappa-eager takes from upstream zappa, in one list: extended, overridden, wrapped, read, written.

Each ``Use`` names one upstream thing (``"module:Class.member"``, ``"module:global"`` or a bare
module), how we use it (``kind``), what upstream's thing is (``form``) and the modules of ours
that do it (``where``, paths from the repository root). A release of zappa that renames, removes
or reorders any of it fails ``tests/test_upstream_contract.py``, which checks every entry against
the installed zappa, and fails too when a module names an upstream private name this list does
not hold, or a class of ours overrides an upstream member it does not list.

Data for tests and docs only: nothing imports it at run time, and the runtime never does
(``zappa_eager/runtime/`` imports only itself). Tooling module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: How we use it.
#: ``extend``: our class subclasses it (or is a mixin placed before it);
#: ``override``: a method of that class of ours replaces upstream's and calls it through ``super()``;
#: ``wrap``: we replace the method on upstream's class with a function calling the original;
#: ``shadow``: ``patching.patched`` sets it on an upstream instance for the length of a step;
#: ``call``, ``read``, ``write``: as the words say (``write``: assigned outside ``patched``);
#: ``add``: an attribute of ours set on an upstream object (upstream must not have one of that name).
Kind = Literal["extend", "override", "wrap", "shadow", "call", "read", "write", "add"]
#: What upstream's thing is: ``attribute`` is a class attribute or one upstream's methods assign on ``self``;
#: ``value`` a module global that is not a function; ``module`` a module whose source file we read;
#: ``absent`` a name upstream does not have (``add``).
Form = Literal["class", "method", "property", "attribute", "function", "value", "module", "absent"]
KINDS: tuple[Kind, ...] = ("extend", "override", "wrap", "shadow", "call", "read", "write", "add")

CLI = "zappa_eager/cli.py"
GUARD = "zappa_eager/guard.py"
MIXIN = "zappa_eager/provisioning/mixin.py"
DEPLOY = "zappa_eager/provisioning/deploy.py"
ROUTING = "zappa_eager/provisioning/routing.py"
LMI = "zappa_eager/provisioning/managed_instances.py"
REVERT = "zappa_eager/provisioning/revert.py"
REVERT_PLAN = "zappa_eager/provisioning/revert_plan.py"
REVERT_CALLERS = "zappa_eager/provisioning/revert_callers.py"
REVERT_CODE = "zappa_eager/provisioning/revert_code.py"
BENCH_COMMAND = "zappa_eager/bench/command.py"
BENCH_VARIANTS = "zappa_eager/bench/variants.py"
BENCH_DERIVE = "zappa_eager/bench/derive.py"
BENCH_UNPACK = "zappa_eager/bench/unpack.py"
COLDSTARTS_COMMAND = "zappa_eager/coldstarts/command.py"
COLDSTARTS_STAGE = "zappa_eager/coldstarts/stage.py"
SETTINGS_KEYS = "zappa_eager/settings_keys.py"
EMULATOR_CLOUDWATCH = "zappa_eager/emulator/cloudwatch.py"
BOOT = "zappa_eager/runtime/boot.py"
HANDLER = "zappa_eager/runtime/handler.py"
WARMUP = "zappa_eager/runtime/warmup.py"
DEFERRED = "zappa_eager/runtime/deferred.py"

ZAPPA_CLI = "zappa.cli:ZappaCLI"
ZAPPA = "zappa.core:Zappa"
LAMBDA_HANDLER = "zappa.handler:LambdaHandler"


@dataclass(frozen=True)
class Use:
    """One upstream name and one way we use it."""

    #: ``"zappa.cli:ZappaCLI.load_settings"`` (a member), ``"zappa.handler:global_handler"`` (a global),
    #: ``"zappa.cli:ZappaCLI"`` (a class) or ``"zappa.handler"`` (a module).
    target: str
    kind: Kind
    form: Form
    #: Our modules that use it this way (each names it in its source).
    where: tuple[str, ...]
    #: Methods and functions: the leading parameters (after ``self``), in upstream's order, that we
    #: pass by position, mirror or override; checked as a prefix of upstream's (all of them with ``exact``).
    params: tuple[str, ...] = ()
    #: Parameters we pass or set by keyword: each must be one of upstream's.
    keywords: tuple[str, ...] = ()
    #: ``params`` is upstream's whole parameter list (our wrapper mirrors it).
    exact: bool = False
    why: str = ""

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]

    @property
    def path(self) -> tuple[str, ...]:
        """The dotted names after the module: ``("ZappaCLI", "load_settings")``; ``()`` for a module."""
        qualname = self.target.partition(":")[2]
        return tuple(qualname.split(".")) if qualname else ()

    @property
    def name(self) -> str:
        return self.path[-1] if self.path else self.module.rpartition(".")[2]

    @property
    def owner(self) -> str | None:
        """``"zappa.cli:ZappaCLI"`` for a member, None for a global, a class or a module."""
        return f"{self.module}:{'.'.join(self.path[:-1])}" if len(self.path) > 1 else None

    @property
    def is_global(self) -> bool:
        return len(self.path) == 1

    @property
    def private(self) -> bool:
        """An upstream name meant to be internal (``_x``, ``_Class__x``), not a dunder and not one of ours."""
        return self.name.startswith("_") and not self.name.endswith("__") and self.kind != "add"


def _cli(member: str) -> str:
    return f"{ZAPPA_CLI}.{member}"


def _core(member: str) -> str:
    return f"{ZAPPA}.{member}"


def _handler(member: str) -> str:
    return f"{LAMBDA_HANDLER}.{member}"


USES: tuple[Use, ...] = (
    # -- zappa.cli.ZappaCLI: EagerZappaCLI(ProvisionedConcurrencyMixin, ZappaCLI) ------------------------
    Use(ZAPPA_CLI, "extend", "class", (CLI, MIXIN), why="EagerZappaCLI; the mixin is placed before it"),
    Use(_cli("handle"), "override", "method", (CLI,), ("argv",), why="--version, EXTRA_COMMANDS, --help"),
    Use(_cli("check_for_update"), "override", "method", (CLI,), why="no PyPI query"),
    Use(_cli("load_settings"), "override", "method", (CLI, MIXIN), ("settings_file", "session"),
        why="eager_* and provisioned_concurrency checked before upstream creates a client"),
    Use(_cli("get_zappa_settings_string"), "override", "method", (CLI,), why="EAGER_* keys appended"),
    Use(_cli("create_package"), "override", "method", (CLI,), ("output", "use_zappa_release"),
        why="our handler.py, the runtime modules, the packaging steps"),
    Use(_cli("deploy"), "override", "method", (MIXIN,), ("source_zip", "docker_image_uri")),
    Use(_cli("update"), "override", "method", (MIXIN,), ("source_zip", "no_upload", "docker_image_uri")),
    Use(_cli("rollback"), "override", "method", (MIXIN,), ("revision",)),
    Use(_cli("undeploy"), "override", "method", (MIXIN,), ("no_confirm", "remove_logs")),
    Use(_cli("schedule"), "override", "method", (MIXIN,)),
    Use(_cli("unschedule"), "override", "method", (MIXIN,)),
    Use(_cli("status"), "override", "method", (MIXIN,), ("return_json",)),
    Use(_cli("handle"), "wrap", "method", (GUARD,), ("argv",), exact=True,
        why="upstream's own `zappa` script only: says which CLI is active"),
    Use(_cli("dispatch_command"), "wrap", "method", (GUARD,), ("command", "stage"), exact=True,
        why="upstream's own `zappa` script only: refuses zappa-eager stages"),
    Use(_cli("provisioned_concurrency"), "shadow", "attribute", (DEPLOY, REVERT_CODE),
        why="the integer upstream puts on a new version"),
    Use(_cli("load_settings"), "call", "method", (BENCH_COMMAND, REVERT, COLDSTARTS_STAGE), ("settings_file",)),
    Use(_cli("load_settings_file"), "call", "method", (CLI, MIXIN), ("settings_file",)),
    Use(_cli("override_stage_config_setting"), "call", "method", (MIXIN, BENCH_VARIANTS), ("key", "val")),
    Use(_cli("check_venv"), "call", "method", (BENCH_COMMAND,)),
    Use(_cli("create_package"), "call", "method", (BENCH_VARIANTS,), keywords=("output",)),
    Use(_cli("get_zappa_settings_string"), "call", "method", (BENCH_VARIANTS, BENCH_DERIVE)),
    Use(_cli("update"), "call", "method", (REVERT_CODE,), why="upstream's update, with our steps patched off"),
    Use(_cli("stage_config"), "read", "property", (CLI, MIXIN, GUARD, BENCH_COMMAND, BENCH_VARIANTS, REVERT_PLAN)),
    Use(_cli("stage_config_overrides"), "read", "property", (BENCH_VARIANTS, REVERT_CODE),
        why="the dict it returns is changed in place and put back"),
    Use(_cli("_stage_config_overrides"), "read", "attribute", (MIXIN,),
        why="a reload drops the overrides the mixin made"),
    Use(_cli("zappa_settings"), "read", "attribute", (CLI, MIXIN, REVERT)),
    Use(_cli("api_stage"), "read", "attribute", (CLI, MIXIN, GUARD, DEPLOY, LMI, REVERT, REVERT_PLAN)),
    Use(_cli("zappa"), "read", "attribute", (CLI, DEPLOY, LMI, REVERT_PLAN, COLDSTARTS_COMMAND, COLDSTARTS_STAGE)),
    Use(_cli("lambda_name"), "read", "attribute", (BENCH_COMMAND, COLDSTARTS_STAGE, DEPLOY, LMI, REVERT_PLAN)),
    Use(_cli("aws_region"), "read", "attribute", (BENCH_COMMAND, COLDSTARTS_STAGE)),
    Use(_cli("memory_size"), "read", "attribute", (BENCH_COMMAND,)),
    Use(_cli("timeout_seconds"), "read", "attribute", (BENCH_COMMAND,)),
    Use(_cli("use_function_url"), "read", "attribute", (BENCH_COMMAND, DEPLOY, REVERT_CALLERS)),
    Use(_cli("use_apigateway"), "read", "attribute", (BENCH_COMMAND, REVERT_CALLERS)),
    Use(_cli("function_url_config"), "read", "attribute", (REVERT_CALLERS,)),
    Use(_cli("lambda_concurrency"), "read", "attribute", (REVERT,)),
    Use(_cli("project_name"), "read", "attribute", (CLI, BENCH_COMMAND)),
    Use(_cli("runtime"), "read", "attribute", (CLI,)),
    Use(_cli("zip_path"), "read", "attribute", (CLI, BENCH_VARIANTS, BENCH_DERIVE)),
    Use(_cli("handler_path"), "read", "attribute", (CLI, BENCH_VARIANTS, BENCH_DERIVE)),
    Use(_cli("environment_variables"), "read", "attribute", (BENCH_COMMAND,)),
    Use(_cli("api_stage"), "write", "attribute", (GUARD, BENCH_COMMAND, REVERT, COLDSTARTS_STAGE)),
    Use(_cli("load_credentials"), "write", "attribute", (BENCH_COMMAND,), why="no AWS session for the bench"),
    Use(_cli("environment_variables"), "write", "attribute", (BENCH_COMMAND,)),
    Use(_cli("zip_path"), "write", "attribute", (BENCH_DERIVE,)),
    Use(_cli("handler_path"), "write", "attribute", (BENCH_DERIVE,)),
    Use(_cli("_eager_warned"), "add", "absent", (CLI,)),
    Use(_cli("_pc_owned_overrides"), "add", "absent", (MIXIN,)),
    Use(_cli("_zappa_eager_guard_installed"), "add", "absent", (GUARD,)),
    # -- zappa.core.Zappa: the CLI's ``zappa`` -----------------------------------------------------------
    Use(_core("create_lambda_zip"), "shadow", "method", (CLI,),
        keywords=("handler_file", "exclude", "use_precompiled_packages"),
        why="our handler.py, no guard .pth, the stage's use_precompiled_packages"),
    Use(_core("create_handler_venv"), "shadow", "method", (CLI,), why="the runtime copied into the handler venv"),
    Use(_core("schedule_events"), "shadow", "method", (ROUTING,),
        ("lambda_arn", "lambda_name", "events", "default"), exact=True),
    Use(_core("unschedule_events"), "shadow", "method", (ROUTING,),
        ("events", "lambda_arn", "lambda_name", "excluded_source_services"), exact=True),
    Use(_core("get_event_rules_for_lambda"), "shadow", "method", (ROUTING,), ("lambda_arn",), exact=True),
    Use(_core("deploy_lambda_function_url"), "shadow", "method", (ROUTING,),
        ("function_name", "function_url_config"), exact=True),
    Use(_core("update_lambda_function_url"), "shadow", "method", (ROUTING,),
        ("function_name", "function_url_config"), exact=True),
    Use(_core("create_event_permission"), "shadow", "method", (ROUTING,),
        ("lambda_name", "principal", "source_arn"), exact=True),
    Use(_core("create_event_permission"), "call", "method", (REVERT_CALLERS,),
        ("lambda_name", "principal", "source_arn")),
    Use(_core("deploy_lambda_function_url"), "call", "method", (REVERT_CALLERS,),
        ("function_name", "function_url_config")),
    Use(_core("_get_qualified_lambda_arn"), "call", "method", (ROUTING,), ("lambda_arn", "lambda_qualifier")),
    Use(_core("service_from_arn"), "call", "method", (ROUTING, REVERT_CALLERS), ("arn",)),
    Use(_core("boto_client"), "call", "method", (DEPLOY, REVERT_PLAN), ("service",)),
    Use(_core("update_function_url_policy"), "call", "method", (ROUTING,), ("function_name", "function_url_config")),
    Use(_core("delete_rule"), "call", "method", (DEPLOY,), ("rule_name",)),
    Use(_core("get_scheduled_event_name"), "call", "method", (DEPLOY,), ("event", "function", "lambda_name")),
    Use(_core("create_lambda_function"), "shadow", "method", (LMI,),
        why="Lambda Managed Instances: one version published and the alias created before API Gateway is wired"),
    Use(_core("update_lambda_function"), "shadow", "method", (LMI,), keywords=("publish",),
        why="Lambda Managed Instances: no publish of its own (every LMI version starts environments)"),
    Use(_core("rollback_lambda_function_version"), "shadow", "method", (LMI,), keywords=("publish",),
        why="likewise"),
    Use(_core("wait_until_lambda_function_is_updated"), "call", "method", (LMI,), ("function_name",)),
    Use(_core("wait_until_lambda_function_version_is_active"), "call", "method", (LMI,),
        ("function_name", "version"), why="an LMI version is Active once its environments ran INIT"),
    Use(_core("migrate_lambda_alias"), "call", "method", (LMI,), ("function_name", "alias_name", "version"),
        keywords=("create_if_missing",)),
    Use(_core("lambda_client"), "read", "attribute", (ROUTING, DEPLOY, LMI, REVERT_PLAN, COLDSTARTS_COMMAND)),
    Use(_core("iam_client"), "read", "attribute", (LMI,), why="the generated LMI operator role"),
    Use(_core("events_client"), "read", "attribute", (REVERT_PLAN,)),
    Use(_core("logs_client"), "read", "attribute", (COLDSTARTS_COMMAND,)),
    Use(_core("boto_session"), "read", "attribute", (COLDSTARTS_STAGE, REVERT_CALLERS)),
    Use(_core("_zappa_eager_routing"), "add", "absent", (ROUTING,)),
    # -- zappa.handler.LambdaHandler: EagerLambdaHandler(LambdaHandler), inside Lambda -------------------
    Use(LAMBDA_HANDLER, "extend", "class", (BOOT,), why="EagerLambdaHandler"),
    Use(_handler("__new__"), "override", "method", (BOOT,), ("settings_name", "session"),
        why="upstream's singleton, built with a boot state"),
    Use(_handler("__init__"), "override", "method", (BOOT,), ("settings_name", "session")),
    Use(_handler("load_remote_settings"), "override", "method", (BOOT,), ("remote_bucket", "remote_file"),
        why="timed"),
    Use(_handler("load_remote_project_archive"), "override", "method", (BOOT,), ("project_zip_path",),
        why="timed, atomic, pipelined unpack"),
    Use(_handler("handler"), "call", "method", (WARMUP,), ("event", "context"), why="warm-up requests"),
    Use(_handler("lambda_handler"), "call", "method", (HANDLER,), ("event", "context")),
    Use(_handler("__new__"), "call", "method", (BENCH_UNPACK,), why="upstream's unpack, timed without __init__"),
    Use(_handler("load_remote_project_archive"), "call", "method", (BENCH_UNPACK,), ("project_zip_path",)),
    Use(_handler("settings"), "read", "attribute", (BOOT,)),
    Use(_handler("session"), "read", "attribute", (BOOT,)),
    Use(_handler("settings"), "write", "attribute", (BENCH_UNPACK,)),
    Use(_handler("session"), "write", "attribute", (BENCH_UNPACK,)),
    Use(_handler("_LambdaHandler__instance"), "write", "attribute", (BOOT,),
        why="a failed build forgets upstream's singleton"),
    # -- module globals --------------------------------------------------------------------------------
    Use("zappa.handler:global_handler", "write", "value", (BOOT,), why="the handler built during INIT"),
    Use("zappa.cli:ZappaCLI", "write", "class", (CLI,), why="the console script: upstream's handle() builds ours"),
    Use("zappa.cli:argcomplete", "write", "value", (GUARD,),
        why="parser_hook, for the length of handle(): our commands in upstream's --help (cli.py, guard.py)"),
    Use("zappa.cli:handle", "call", "function", (CLI,)),
    Use("zappa.cli:ClickException", "read", "class", (GUARD,)),
    Use("zappa.core:PROVISIONED_CONCURRENCY_LAMBDA_ALIAS", "read", "value", (ROUTING,)),
    Use("zappa.core:FUNCTION_URL_PUBLIC_PERMISSION_SIDS", "read", "value", (REVERT_CALLERS,)),
    Use("zappa.utilities:get_runtime_from_python_version", "call", "function", (CLI, MIXIN)),
    Use("zappa.utilities:add_event_source", "call", "function", (REVERT_CALLERS,),
        ("event_source", "lambda_arn", "target_function", "boto_session")),
    Use("zappa.utilities:remove_event_source", "call", "function", (REVERT_CALLERS,),
        ("event_source", "lambda_arn", "target_function", "boto_session")),
    Use("zappa.utilities:get_event_source_status", "call", "function", (REVERT_CALLERS,),
        ("event_source", "lambda_arn", "target_function", "boto_session")),
    # -- module sources we read --------------------------------------------------------------------------
    Use("zappa.handler", "read", "module", (BENCH_VARIANTS, EMULATOR_CLOUDWATCH),
        why="upstream's handler.py, byte for byte, for the upstream modes"),
    Use("zappa.utilities:boto3", "shadow", "value", (DEFERRED,),
        why="bound to a stand-in while zappa.handler is imported: boto3 loads on first use (eager_init_defer_imports)"),
    Use("zappa.utilities:botocore", "shadow", "value", (DEFERRED,), why="likewise, loaded with boto3"),
    Use("zappa.cli", "read", "module", (SETTINGS_KEYS,), why="the stage keys upstream reads"),
    Use("zappa.core", "read", "module", (SETTINGS_KEYS,), why="the stage keys upstream reads"),
)


def uses_of(target: str) -> tuple[Use, ...]:
    return tuple(use for use in USES if use.target == target)


def counts() -> dict[str, int]:
    """How much we take from upstream, by kind (distinct names), plus the globals and private names among them."""
    found: dict[str, int] = {kind: len({use.target for use in USES if use.kind == kind}) for kind in KINDS}
    found["globals written"] = len({use.target for use in USES if use.is_global and use.kind == "write"})
    found["globals"] = len({use.target for use in USES if use.is_global})
    found["private names"] = len({use.target for use in USES if use.private})
    return found
