"""One AWS call with retries on throttling (exponential backoff), and its errors explained."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from zappa_eager.coldstarts.errors import access_denied, is_access_denied, is_throttled

T = TypeVar("T")
#: Attempts of one call while AWS throttles it; botocore's own retries run inside each.
ATTEMPTS = 8
BASE_DELAY_S = 0.5
MAX_DELAY_S = 20.0


def backoff(attempt: int) -> float:
    """Full jitter: a random delay up to ``BASE_DELAY_S * 2**attempt``, capped."""
    return random.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2 ** attempt))


def call(fn: Callable[..., T], *, action: str, resource: str, sleep: Callable[[float], None] = time.sleep,
         **kwargs: Any) -> T:
    """``fn(**kwargs)``, retried while throttled; AccessDenied becomes an error naming ``action``."""
    for attempt in range(ATTEMPTS):
        try:
            return fn(**kwargs)
        except ClientError as exc:
            if is_access_denied(exc):
                raise access_denied(action, resource, exc) from exc
            if not is_throttled(exc) or attempt == ATTEMPTS - 1:
                raise
            sleep(backoff(attempt))
    raise AssertionError("unreachable")  # pragma: no cover
