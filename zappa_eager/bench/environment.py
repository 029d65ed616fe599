"""The environment ``zappa bench`` runs the app with: none of the stage's that points outside this machine.

A production stage's variables name its database, cache and APIs, and hold their keys; the
bench sends a hundred-odd requests per mode and must not reach them. One rule, by value:

* a stage variable (``aws_environment_variables``, and ``environment_variables``, which zappa
  bakes into zappa_settings.py) is **kept** when its value cannot reach anything: empty, a
  number, a boolean word, an absolute file path, a host or URL on this machine (``localhost``,
  ``127.x.x.x``, ``::1``; ``sqlite:///...`` and ``file:///...`` name no host) with no
  ``?query`` (a query can name another host, as libpq's ``?host=`` does), or it is
  ``DJANGO_SETTINGS_MODULE`` (a module of the package, like ``django_settings``);
* every other is **dropped**: a value that is not a URL can still be a key to a production API;
* ``remote_env`` is always served as an empty file (``{}``) from the bench's S3 on 127.0.0.1:
  the fetch is measured, your bucket is never read (the bench makes no AWS call).

``--stage-env`` keeps every stage variable as it is. ``bench_environment`` (stage setting)
sets variables for the bench only and wins over both. Names are printed, never values.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from zappa_eager.emulator.config import RESERVED
from zappa_eager.settings import parse_bench_environment

BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "none", "null"})
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+)(:\d+)?")
#: Names kept whatever their value: they name code inside the package, not a place.
CODE_NAMES = frozenset({"DJANGO_SETTINGS_MODULE"})
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})

AWS_SOURCE = "aws_environment_variables"
SETTINGS_SOURCE = "environment_variables"


def loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hosts_are_local(hosts: str) -> bool:
    """``h1:p1,h2:p2`` (a URL's netloc after any ``user:password@``, or a bare list): all loopback."""
    for item in hosts.split(","):
        match = HOST_PORT.fullmatch(item)
        if match is None or not loopback_host(match.group(1)):
            return False
    return True


def is_local_value(value: str) -> bool:
    """True when ``value`` cannot point outside this machine (see the module docstring for the rule)."""
    text = value.strip()
    if not text or text.lower() in BOOLEAN_WORDS or NUMBER.fullmatch(text):
        return True
    if any(char.isspace() for char in text):
        return False  # several values in one: judge none
    if text.startswith("/") and not text.startswith("//"):
        return True  # a file path
    if "://" in text:
        if text.count("://") != 1:
            return False
        parts = urlsplit(text)
        if parts.query or parts.fragment or "?" in text or "#" in text:
            return False
        netloc = parts.netloc.rpartition("@")[2]
        return not netloc or _hosts_are_local(netloc)
    return loopback_host(text) or _hosts_are_local(text)  # a host, host:port, or a list of them


def keep_by_default(name: str, value: str) -> bool:
    return name in CODE_NAMES or is_local_value(value)


@dataclass(frozen=True)
class BenchEnvironment:
    """What the emulated function gets, and what to tell the user about it (names only)."""

    lambda_env: Mapping[str, str]  # the function's environment (Lambda's configuration)
    settings_env: Mapping[str, str]  # ENVIRONMENT_VARIABLES of the generated zappa_settings.py
    stage_env: bool = False
    kept: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    overridden: tuple[str, ...] = ()  # a stage variable, replaced by bench_environment
    added: tuple[str, ...] = ()  # set by bench_environment only
    reserved: tuple[str, ...] = ()  # aws_environment_variables Lambda refuses (never set, as on Lambda)
    remote_env: bool = False
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # name -> the stage keys defining it

    def _names(self, names: tuple[str, ...]) -> str:
        return ", ".join(f"{name} ({' and '.join(self.sources[name])})" if name in self.sources else name
                         for name in names)

    def lines(self) -> list[str]:
        """What the bench prints before it runs: kept, dropped, overridden, by name."""
        lines = []
        if self.stage_env:
            lines.append("WARNING: --stage-env: the app runs with the stage's own variables, as deployed; "
                         "its requests reach whatever they point at (databases, caches, APIs)")
        if self.dropped:
            lines.append(f"environment: dropped, may point outside this machine: {self._names(self.dropped)}. "
                         "Give them local values in bench_environment, or use --stage-env")
        if self.kept:
            reason = "--stage-env" if self.stage_env else "local values"
            lines.append(f"environment: kept, {reason}: {self._names(self.kept)}")
        if self.overridden:
            lines.append(f"environment: overridden by bench_environment: {self._names(self.overridden)}")
        if self.added:
            lines.append(f"environment: set by bench_environment: {', '.join(self.added)}")
        if self.reserved:
            lines.append(f"environment: not set (reserved by Lambda): {', '.join(self.reserved)}")
        if self.remote_env:
            lines.append("environment: remote_env is served as an empty file from the bench's S3 on 127.0.0.1: "
                         "the variables in your bucket are not loaded (set the ones the app needs in "
                         "bench_environment)")
        if not lines:
            lines.append("environment: the stage defines no variables")
        return lines

    def as_dict(self) -> dict[str, Any]:
        """For bench.json: names only."""
        return {"stage_env": self.stage_env, "kept": list(self.kept), "dropped": list(self.dropped),
                "overridden": list(self.overridden), "added": list(self.added), "reserved": list(self.reserved),
                "remote_env": "empty" if self.remote_env else None}


def _strings(variables: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(name): str(value) for name, value in (variables or {}).items()}


def plan_environment(stage_config: Mapping[str, Any], stage: str, *, stage_env: bool = False) -> BenchEnvironment:
    """The bench's environment for one stage (``stage_config`` as the CLI loaded it)."""
    aws = _strings(stage_config.get(AWS_SOURCE))
    baked = _strings(stage_config.get(SETTINGS_SOURCE))
    bench = parse_bench_environment(stage_config, stage)
    reserved = tuple(name for name in aws if name in RESERVED)
    sources: dict[str, tuple[str, ...]] = {}
    for source, variables in ((AWS_SOURCE, aws), (SETTINGS_SOURCE, baked)):
        for name in variables:
            if name not in RESERVED or source == SETTINGS_SOURCE:
                sources[name] = (*sources.get(name, ()), source)

    def keep(name: str, value: str) -> bool:
        return name not in bench and (stage_env or keep_by_default(name, value))

    lambda_env = {name: value for name, value in aws.items() if name not in RESERVED and keep(name, value)}
    lambda_env.update(bench)  # the handler never overwrites these: they are not in settings_env
    settings_env = {name: value for name, value in baked.items() if keep(name, value)}
    stage_values = [(name, value) for name, value in aws.items() if name not in RESERVED] + list(baked.items())
    kept = tuple(dict.fromkeys(name for name, value in stage_values if keep(name, value)))
    dropped = tuple(dict.fromkeys(name for name, value in stage_values if name not in bench and not keep(name, value)))
    remote = bool(stage_config.get("remote_env") or (stage_config.get("remote_env_bucket")
                                                     and stage_config.get("remote_env_file")))
    return BenchEnvironment(
        lambda_env=lambda_env, settings_env=settings_env, stage_env=stage_env, kept=kept, dropped=dropped,
        overridden=tuple(name for name in sources if name in bench),
        added=tuple(name for name in bench if name not in sources), reserved=reserved, remote_env=remote,
        sources=sources,
    )
