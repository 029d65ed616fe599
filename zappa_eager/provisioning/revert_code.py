"""Phase 4 of ``zappa revert-to-upstream``: which handler is deployed, and upstream's own ``update`` to replace it.

The deployed code is read back (``GetFunction``'s presigned ``Code.Location``, as upstream's
``rollback`` does) for ``$LATEST`` and for the version the alias serves: a ``handler.py`` at
the zip root that imports ``zappa_eager`` is zappa-eager's. The replacement is not a
re-implementation: it is ``EagerZappaCLI.update`` with eager init, the packaging steps and
the provisioned-concurrency steps switched off for that one call, i.e. upstream's ``update``
building upstream's package, with upstream's integer ``provisioned_concurrency``
(new version, PC on it, alias moved when READY, the old version's PC released). Tooling module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import zipfile
from collections.abc import Iterator
from functools import partial
from typing import Any

import requests
from click import ClickException

from zappa_eager.patching import patched
from zappa_eager.provisioning.aws import alias_version, pc_allocation
from zappa_eager.provisioning.revert_plan import Change, Target
from zappa_eager.provisioning.routing import PC_ALIAS

#: What marks zappa-eager's handler.py (it imports the runtime package); upstream's never names it.
EAGER_MARKER = b"zappa_eager"
EAGER, UPSTREAM, NO_HANDLER, IMAGE = "zappa-eager", "upstream", "no handler.py", "container image"


def fetch_code(location: str) -> bytes:
    """The deployment package behind ``GetFunction``'s presigned URL (valid for 10 minutes)."""
    response = requests.get(location, timeout=120)
    response.raise_for_status()
    return response.content


def handler_kind(package: bytes) -> str:
    """Whose ``handler.py`` sits at the root of a deployment package."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        if "handler.py" not in archive.namelist():
            return NO_HANDLER
        return EAGER if EAGER_MARKER in archive.read("handler.py") else UPSTREAM


def deployed_handlers(target: Target) -> dict[str, str]:
    """``{"$LATEST": kind, "version N (alias)": kind}``: the code that each kind of caller gets."""
    qualifiers: dict[str, str | None] = {"$LATEST": None}
    version = alias_version(target.lambda_client, target.function_name, PC_ALIAS)
    if version is not None and target.pc_integer is not None:  # without PC upstream leaves the alias alone
        qualifiers[f"version {version} ('{PC_ALIAS}' alias)"] = version
    kinds: dict[str, str] = {}
    for label, qualifier in qualifiers.items():
        kwargs: dict[str, Any] = {"FunctionName": target.function_name}
        if qualifier is not None:
            kwargs["Qualifier"] = qualifier
        response = target.lambda_client.get_function(**kwargs)
        if response["Configuration"].get("PackageType") == "Image":
            kinds[label] = IMAGE
        else:
            kinds[label] = handler_kind(fetch_code(response["Code"]["Location"]))
    return kinds


def code_changes(target: Target) -> tuple[list[Change], list[str]]:
    kinds = deployed_handlers(target)
    notes = [f"deployed handler.py: {', '.join(f'{label}: {kind}' for label, kind in kinds.items())}"]
    if IMAGE in kinds.values():
        notes.append("a container-image function: rebuild the image FROM upstream's base without zappa-eager; "
                     "this command does not build images.")
        return [], notes
    version = alias_version(target.lambda_client, target.function_name, PC_ALIAS)
    reasons = [label for label, kind in kinds.items() if kind == EAGER]
    pc_text = ""
    if target.pc_integer is not None:
        requested = None if version is None else pc_allocation(target.lambda_client, target.function_name, version)
        current = None if requested is None or requested["status"] == "NONE" else int(requested["requested"])
        notes.append(f"provisioned concurrency on the alias's version: {current if current is not None else 'none'}"
                     f"; upstream's integer setting: {target.pc_integer}")
        if current != target.pc_integer:
            reasons.append(f"provisioned concurrency {current} -> {target.pc_integer}")
        pc_text = (f"; upstream then publishes a version with provisioned concurrency {target.pc_integer}, moves the "
                   f"'{PC_ALIAS}' alias to it once READY and releases version {version}'s")
    if not reasons:
        return [], notes
    change = Change(
        f"zappa update {target.stage} with eager_init off ({'; '.join(reasons)}): upstream's package (its own "
        "handler.py, no bytecode or lean step) uploaded, function code and configuration updated" + pc_text
        + "; API Gateway, function URL and schedules re-applied by upstream from the settings",
        partial(upstream_update, target),
    )
    return [change], notes


@contextlib.contextmanager
def upstream_only(target: Target) -> Iterator[None]:
    """For one call: no eager handler, no packaging step, no PC/routing steps, upstream's keep_warm default."""
    cli = target.cli
    eager = dataclasses.replace(cli.eager, enabled=False, compile_bytecode=False, lean_package=False)
    overrides = cli.stage_config_overrides
    keep_warm = overrides.pop("keep_warm", None) if target.keep_warm_skipped else None
    try:
        with (
            patched(cli, "eager", eager),
            patched(cli, "pc", None),
            patched(cli, "provisioned_concurrency", target.pc_integer),
        ):
            yield
    finally:
        if target.keep_warm_skipped:
            overrides["keep_warm"] = keep_warm


def upstream_update(target: Target) -> None:
    with upstream_only(target):
        try:
            target.cli.update()
        except SystemExit as exc:  # upstream's update exits on a missing function or venv
            message = f"upstream's zappa update stopped (exit status {exc.code}): see the output above."
            raise ClickException(message) from exc
        except RuntimeError as exc:  # upstream's READY wait: the alias has not moved
            raise ClickException(
                f"{exc}. The '{PC_ALIAS}' alias has not moved, so traffic stays on the version that works. Fix the "
                f"cause (zappa tail {target.stage}), then run zappa revert-to-upstream {target.stage} again: it "
                "releases the provisioned concurrency of the version that did not become READY and updates again."
            ) from exc
