"""The stage's function, log group and aliases, from zappa_settings.json through the real CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from zappa_eager.coldstarts.calls import call
from zappa_eager.coldstarts.errors import ColdstartsError, is_not_found

if TYPE_CHECKING:
    from zappa_eager.cli import EagerZappaCLI


@dataclass
class StageTarget:
    stage: str
    function: str
    region: str
    aliases: dict[str, list[str]] = field(default_factory=dict)  # version -> aliases (with their traffic share)
    notes: list[str] = field(default_factory=list)

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function}"


def load_stage(cli: EagerZappaCLI, stage: str) -> StageTarget:
    """Settings as every zappa command loads them (``zappa_settings.json``, validated by the CLI)."""
    cli.api_stage = stage
    cli.load_settings()
    return StageTarget(stage=stage, function=str(cli.lambda_name),
                       region=str(cli.aws_region or cli.zappa.boto_session.region_name or "us-east-1"))


def load_aliases(lambda_client: Any, target: StageTarget) -> None:
    """Which alias pointed at each version, where ``lambda:ListAliases`` is permitted; no function: not deployed."""
    aliases: dict[str, list[str]] = {}
    marker: str | None = None
    try:
        while True:
            kwargs: dict[str, Any] = {"FunctionName": target.function}
            if marker:
                kwargs["Marker"] = marker
            page = call(lambda_client.list_aliases, action="lambda:ListAliases", resource=target.function, **kwargs)
            for alias in page.get("Aliases", []):
                weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
                main_share = 1.0 - sum(float(w) for w in weights.values())
                name = str(alias["Name"])
                aliases.setdefault(str(alias["FunctionVersion"]), []).append(
                    name if not weights else f"{name} ({main_share:.0%})")
                for version, weight in weights.items():
                    aliases.setdefault(str(version), []).append(f"{name} ({float(weight):.0%})")
            marker = page.get("NextMarker")
            if not marker:
                break
    except ColdstartsError:  # AccessDenied: the summary goes on without aliases
        target.notes.append(f"aliases unknown: grant lambda:ListAliases on {target.function} to see which alias "
                            "pointed at each version")
        return
    except ClientError as exc:
        if is_not_found(exc):
            raise ColdstartsError(
                f"stage {target.stage!r} is not deployed: no Lambda function {target.function} in {target.region}. "
                f"Deploy it (zappa deploy {target.stage}), or check aws_region in zappa_settings.json.") from exc
        code = exc.response.get("Error", {}).get("Code", "")
        target.notes.append(f"aliases unknown ({code}): grant lambda:ListAliases on {target.function} to see "
                            "which alias pointed at each version")
        return
    target.aliases = aliases

