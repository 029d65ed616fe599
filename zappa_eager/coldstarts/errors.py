"""AWS errors turned into what to do about them: the IAM action to grant, the region to check."""

from __future__ import annotations

from botocore.exceptions import ClientError
from click import ClickException

ACCESS_DENIED = ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnrecognizedClientException")
THROTTLED = ("ThrottlingException", "TooManyRequestsException", "LimitExceededException", "RequestLimitExceeded",
             "ServiceUnavailableException")


class ColdstartsError(ClickException):
    """A failure the user can fix; shown like every zappa error, exit status 1."""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_access_denied(exc: ClientError) -> bool:
    return error_code(exc) in ACCESS_DENIED


def is_throttled(exc: ClientError) -> bool:
    return error_code(exc) in THROTTLED


def is_not_found(exc: ClientError) -> bool:
    return error_code(exc) == "ResourceNotFoundException"


def access_denied(action: str, resource: str, exc: ClientError) -> ColdstartsError:
    return ColdstartsError(
        f"AccessDenied: {action} on {resource} was refused ({exc.response.get('Error', {}).get('Message', '')}). "
        f"Grant {action} on {resource} to the credentials zappa uses (profile_name / AWS_PROFILE), or pick another "
        "--source (docs/coldstarts.md, 'IAM')."
    )


def no_log_group(log_group: str, region: str) -> ColdstartsError:
    return ColdstartsError(
        f"no log group {log_group} in {region}: Lambda creates it on the function's first invocation, so either "
        f"the function was never invoked in {region}, or it runs in another region (aws_region in "
        "zappa_settings.json, or AWS_DEFAULT_REGION)."
    )
