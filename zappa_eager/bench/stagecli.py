"""What the bench needs of the CLI it is handed: upstream ``ZappaCLI``'s stage and packaging, and the eager settings.

``zappa bench`` is one of ``cli.EXTRA_COMMANDS``: ``EagerZappaCLI.handle`` passes itself in as
``cli``. The bench names it only through ``StageCLI``, so no bench module imports
``zappa_eager.cli`` (tests/test_import_cycles.py). Upstream's members are untyped (``Any``); the
upstream names used here are listed in ``zappa_eager/upstream.py``. Tooling module.
"""

from __future__ import annotations

from typing import Any, Protocol

from zappa_eager.packaging.facts import PackageFacts
from zappa_eager.settings import EagerSettings


class StageCLI(Protocol):
    """``EagerZappaCLI`` as the bench drives it: load a stage, swap its settings, package it."""

    # upstream ZappaCLI: set by the bench (api_stage, load_credentials), by load_settings, by create_package
    api_stage: Any
    load_credentials: Any
    aws_region: Any
    lambda_name: Any
    memory_size: Any
    timeout_seconds: Any
    environment_variables: Any
    zip_path: Any
    handler_path: Any
    # zappa-eager's: the stage's eager settings, and the facts of the package create_package optimized
    eager: EagerSettings
    package_facts: PackageFacts | None

    @property
    def stage_config(self) -> Any: ...

    @property
    def stage_config_overrides(self) -> Any: ...

    def override_stage_config_setting(self, key: str, val: Any) -> Any: ...

    def load_settings(self, settings_file: str | None = None, session: Any = None) -> Any: ...

    def check_venv(self) -> Any: ...

    def create_package(self, output: str | None = None, use_zappa_release: str | None = None) -> None: ...

    def get_zappa_settings_string(self) -> str: ...

    def optimize_packages(self) -> object: ...
