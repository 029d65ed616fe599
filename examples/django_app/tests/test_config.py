"""shop.config: DATABASES/CACHES from an environment mapping, without reloading settings."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from shop import config


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("On", True), ("YES", True),
                                                 ("0", False), ("false", False), ("", False), (None, False)])
def test_env_bool(value: str | None, expected: bool) -> None:
    env = {} if value is None else {"FLAG": value}
    assert config.env_bool(env, "FLAG") is expected


def test_env_bool_default_and_env_int() -> None:
    assert config.env_bool({}, "FLAG", default=True) is True
    assert config.env_int({"N": "7"}, "N", 1) == 7
    assert config.env_int({}, "N", 1) == 1
    with pytest.raises(ValueError, match="N must be an integer, got 'seven'"):
        config.env_int({"N": "seven"}, "N", 1)


def test_sqlite_defaults_to_the_project_dir_when_writable(tmp_path: Path) -> None:
    databases = config.build_databases({}, tmp_path)
    default = databases["default"]
    assert set(databases) == {"default"}
    assert default["ENGINE"] == "django.db.backends.sqlite3"
    assert default["NAME"] == str(tmp_path / "db.sqlite3")
    assert default["OPTIONS"] == {"timeout": 20}
    assert default["CONN_MAX_AGE"] == 600
    assert default["CONN_HEALTH_CHECKS"] is True


def test_sqlite_falls_back_to_tmp_on_a_read_only_task_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Lambda's /var/task is read-only: access(2) fails with EROFS (even for root, unlike chmod).
    monkeypatch.setattr(config.os, "access", lambda path, mode: False)
    assert config.data_dir({}, tmp_path) == Path(tempfile.gettempdir())
    assert config.build_databases({}, tmp_path)["default"]["NAME"] == str(Path(tempfile.gettempdir()) / "db.sqlite3")
    assert config.data_dir({}, tmp_path / "missing") == Path(tempfile.gettempdir())


def test_shop_data_dir_wins_and_is_created(tmp_path: Path) -> None:
    target = tmp_path / "data" / "shop"
    databases = config.build_databases({"SHOP_DATA_DIR": str(target)}, tmp_path / "project")
    assert databases["default"]["NAME"] == str(target / "db.sqlite3")
    assert target.is_dir()


def test_database_url_selects_postgres(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgres://shop:s3cret@db.internal:5433/shop", "DATABASE_CONN_MAX_AGE": "60"}
    default = config.build_databases(env, tmp_path)["default"]
    assert default["ENGINE"] == "django.db.backends.postgresql"
    assert (default["NAME"], default["USER"], default["PASSWORD"]) == ("shop", "shop", "s3cret")
    assert (default["HOST"], default["PORT"]) == ("db.internal", 5433)
    assert default["CONN_MAX_AGE"] == 60
    assert "timeout" not in default.get("OPTIONS", {})
    assert not (tmp_path / "db.sqlite3").exists()


def test_settings_use_the_config_helpers() -> None:
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert settings.USE_TZ is True
    assert "*" in settings.ALLOWED_HOSTS  # pytest-django appends "testserver"
    assert settings.SHOP_AUTO_MIGRATE is False
    assert settings.REST_FRAMEWORK["PAGE_SIZE"] == 20
    assert settings.BASE_DIR == Path(__file__).resolve().parent.parent
