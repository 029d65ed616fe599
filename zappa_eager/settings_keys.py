"""Stage key names: which are ours, which are upstream's, and what a misspelt one was meant to be.

Upstream Zappa ignores keys it does not know, so ``"eager_init_warmpu": ["/x"]`` would package
happily without a warm-up. A key that is, or looks like, one of zappa-eager's is checked here
(an error: we own it); a key that looks like a misspelt upstream key only warns (upstream
accepts it, and so must we). Upstream's keys are read from the installed zappa's own source, so
a release that adds one never gets warned about. Tooling module: never imported by the runtime.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Stage keys upstream zappa 0.63 reads; the fallback when its source cannot be read, and what the
#: contract test compares the scan of the installed zappa against (a new release that adds keys is noticed).
UPSTREAM_STAGE_KEYS = frozenset({
    "additional_text_mimetypes", "alb_enabled", "alb_vpc_config", "api_key", "api_key_required",
    "apigateway_description", "apigateway_enabled", "apigateway_lambda_qualifier", "apigateway_policy",
    "apigateway_version", "app_function", "app_type", "architecture", "assume_policy", "async_resources",
    "async_response_table", "async_response_table_read_capacity", "async_response_table_write_capacity",
    "async_source", "attach_policy", "authorizer", "aws_endpoint_urls", "aws_environment_variables",
    "aws_kms_key_arn", "aws_region", "base_path", "binary_support", "bot_events", "cache_cluster_enabled",
    "cache_cluster_encrypted", "cache_cluster_size", "cache_cluster_ttl", "callbacks", "certificate",
    "certificate_arn", "certificate_chain", "certificate_key", "cloudwatch_data_trace", "cloudwatch_log_level",
    "cloudwatch_metrics_enabled", "cognito", "context_header_mappings", "cors", "dead_letter_arn", "debug",
    "delete_local_zip", "delete_s3_zip", "delete_zip", "django_settings", "domain", "efs_config",
    "endpoint_configuration", "environment_variables", "ephemeral_storage", "events", "exception_handler",
    "exclude", "exclude_glob", "extends", "extra_permissions", "function_url_cloudfront_config",
    "function_url_config", "function_url_domains", "function_url_enabled", "iam_authorization", "include",
    "keep_warm", "keep_warm_expression", "lambda_concurrency", "lambda_description", "lambda_handler", "layers",
    "lets_encrypt_key", "log_level", "manage_roles", "memory_size", "num_retained_versions",
    "payload_compression", "payload_minimum_compression_size", "prebuild_script", "profile_name",
    "project_name", "provisioned_concurrency", "remote_env", "remote_env_bucket", "remote_env_file", "role_arn",
    "role_name", "route53_enabled", "runtime", "s3_bucket", "settings_file", "slim_handler", "snap_start",
    "tags", "timeout_seconds", "touch", "touch_path", "use_apigateway", "use_precompiled_packages",
    "vpc_config", "websocket_handler_module", "xray_tracing",
})

#: Upstream modules whose source names the stage keys upstream reads.
UPSTREAM_MODULES = ("cli.py", "core.py")
#: Keys upstream reads without ``stage_config``: ``extends`` (from each stage's own dict) and the old
#: name of ``delete_local_zip``. The contract test checks both still appear in upstream's cli.py.
UPSTREAM_INDIRECT_KEYS = ("extends", "delete_zip")
#: A stage key starting with one of these is zappa-eager's even when it matches none of our keys.
OWN_PREFIXES = ("eager", "lean_", "bench_")
#: How alike a key must be (difflib ratio) to count as a misspelling of ours (error) or of upstream's (warning).
OWN_CUTOFF = 0.8
UPSTREAM_CUTOFF = 0.8
#: For keys inside our own objects every unknown key is an error anyway; the suggestion may be looser.
SUB_KEY_CUTOFF = 0.6


def closest(name: str, valid: Iterable[str], cutoff: float = SUB_KEY_CUTOFF) -> str | None:
    """The valid key ``name`` most likely meant: a close spelling, or one that starts the other."""
    options = sorted(set(valid))
    lowered = name.lower()
    scored = sorted(((difflib.SequenceMatcher(None, lowered, option).ratio(), option) for option in options),
                    reverse=True)
    if scored and scored[0][0] >= cutoff:
        return scored[0][1]
    prefixed = [(ratio, option) for ratio, option in scored if _shares_start(lowered, option)]
    return prefixed[0][1] if prefixed else None  # the best spelt of them


def _shares_start(name: str, option: str) -> bool:
    """``bench_env`` / ``bench_environment``: one starts the other and is at least half of it."""
    short, long = sorted((name, option), key=len)
    return len(short) >= 3 and 2 * len(short) >= len(long) and long.startswith(short)


def unknown_key_fix(name: str, valid: Iterable[str]) -> str:
    """``did you mean `x`?`` when one is close, else the list of valid keys."""
    options = list(dict.fromkeys(valid))
    guess = closest(name, options)
    listed = f"use only {', '.join(options)}"
    return f"did you mean `{guess}`? ({listed})" if guess is not None else listed


@dataclass(frozen=True)
class UnknownKey:
    """A stage key no one reads: ``ours`` (an error) or a likely misspelling of upstream's (a warning)."""

    key: str
    value: Any
    suggestion: str | None
    ours: bool

    def warning(self, stage: str) -> str:
        return (f"stage '{stage}' sets `{self.key}`, which neither zappa nor zappa-eager reads (zappa ignores it); "
                f"did you mean `{self.suggestion}`?")


def check_stage_keys(stage_config: Mapping[str, Any], own_keys: Iterable[str],
                     upstream_keys: Iterable[str] | None = None) -> list[UnknownKey]:
    """Unknown stage keys that look like ours (errors) or like a misspelt upstream key (warnings)."""
    own = set(own_keys)
    upstream = set(upstream_stage_keys() if upstream_keys is None else upstream_keys)
    found = []
    for key in stage_config:
        if not isinstance(key, str) or key in own or key in upstream:
            continue
        lowered = key.lower()
        own_guess = closest(key, own, OWN_CUTOFF)
        upstream_guess = closest(key, upstream, UPSTREAM_CUTOFF)
        if lowered.startswith(OWN_PREFIXES) or (own_guess and _ratio(key, own_guess) >= _ratio(key, upstream_guess)):
            found.append(UnknownKey(key, stage_config[key], own_guess, ours=True))  # None: no key is close
        elif upstream_guess:
            found.append(UnknownKey(key, stage_config[key], upstream_guess, ours=False))
    return found


def _ratio(name: str, option: str | None) -> float:
    return 0.0 if option is None else difflib.SequenceMatcher(None, name.lower(), option).ratio()


@functools.lru_cache(maxsize=1)
def upstream_stage_keys() -> frozenset[str]:
    """The keys the installed zappa reads from a stage (its source scanned), with the 0.63 list as a floor."""
    return UPSTREAM_STAGE_KEYS | scan_upstream_keys()


#: How upstream reads a stage key: ``stage_config.get("k"``, ``stage_config["k"]``, ``"k" in self.stage_config``.
_READ = re.compile(r'stage_config(?:\.get\(\s*|\[\s*)"(\w+)"|"(\w+)"\s+in\s+(?:self\.)?stage_config(?![\w.(\[])')
#: Lists of keys upstream loops over against the stage (``CUSTOM_SETTINGS = [...]``).
_LISTS = re.compile(r"^\s*[A-Z_]+_SETTINGS\s*=\s*[\[(]([^\])]*)[\])]", re.MULTILINE)
_QUOTED = re.compile(r'"(\w+)"')


def scan_upstream_keys(directory: Path | None = None) -> frozenset[str]:
    """Stage keys named in zappa's source: ``stage_config.get("k")``, ``stage_config["k"]``, ``"k" in stage_config``.

    Plus the names in lists such as ``CUSTOM_SETTINGS`` that upstream loops over against the stage.
    A text scan (a few milliseconds; every command runs it once). Empty when the source is not there
    (a bytecode-only install): the fixed list then applies.
    """
    if directory is None:
        import zappa

        directory = Path(zappa.__file__).resolve().parent
    keys: set[str] = set()
    for module in UPSTREAM_MODULES:
        try:
            text = (directory / module).read_text(encoding="utf-8")
        except (OSError, ValueError):
            continue
        keys.update(first or second for first, second in _READ.findall(text))
        for listed in _LISTS.findall(text):
            keys.update(_QUOTED.findall(listed))
        if module == "cli.py":
            keys.update(key for key in UPSTREAM_INDIRECT_KEYS if f'"{key}"' in text)
    return frozenset(keys)
