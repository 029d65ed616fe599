"""Fixtures: a small catalog, a clean cache per test, and a throw-away PostgreSQL server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from catalog.models import Category, Product
from reviews.models import Review

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROBE = PROJECT_DIR / "tests" / "wsgi_probe.py"
#: Removed from the inherited environment so a probe sees only what the test sets.
APP_ENV_VARS = ("DATABASE_URL", "DATABASE_REPLICA_URL", "REDIS_URL", "SHOP_DATA_DIR", "SHOP_AUTO_MIGRATE",
                "DJANGO_SETTINGS_MODULE", "DEBUG")


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def coffee(db: None) -> Category:
    return Category.objects.create(name="Coffee", slug="coffee", description="Beans, roasted weekly.")


@pytest.fixture
def tea(db: None) -> Category:
    return Category.objects.create(name="Tea", slug="tea", description="Loose-leaf teas.")


@pytest.fixture
def products(coffee: Category, tea: Category) -> list[Product]:
    """25 coffees (two pages of 20) and 3 teas; one inactive tea that shoppers must not see."""
    items = [
        Product(category=coffee, name=f"Coffee {i:02d}", slug=f"coffee-{i:02d}", sku=f"COF-{i:04d}",
                description=f"Roast number {i}.", price=Decimal("10.00") + i, stock=10)
        for i in range(1, 26)
    ]
    items += [
        Product(category=tea, name=f"Tea {i}", slug=f"tea-{i}", sku=f"TEA-{i:04d}", price=Decimal("5.50"), stock=0)
        for i in range(1, 4)
    ]
    items.append(Product(category=tea, name="Retired Tea", slug="retired-tea", sku="TEA-9999",
                         price=Decimal("1.00"), stock=5, is_active=False))
    created = Product.objects.bulk_create(items)
    first = created[0]
    Review.objects.create(product=first, author_name="Alex", rating=5, title="Superb", body="Fruity and bright.")
    Review.objects.create(product=first, author_name="Sam", rating=4, title="Good", body="Solid daily coffee.")
    Review.objects.create(product=first, author_name="Spam", rating=1, title="Hidden", is_published=False)
    return created


def run_probe(env: dict[str, str], *requests: str) -> dict[str, Any]:
    """Boot the app in a fresh process with ``env`` (see tests/wsgi_probe.py) and return its report."""
    clean = {k: v for k, v in os.environ.items() if k not in APP_ENV_VARS}
    clean.update(env, PYTHONPATH=str(PROJECT_DIR))
    done = subprocess.run([sys.executable, str(PROBE), *requests], cwd=PROJECT_DIR, env=clean,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["stderr"] = done.stderr
    return report


@pytest.fixture
def probe() -> Callable[..., dict[str, Any]]:
    return run_probe


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own (initdb + pg_ctl); run as the ``postgres`` user when we are root."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not on PATH")
    as_user: list[str] = []
    # /tmp itself, not pytest's tmp_path: the postgres user cannot enter root's 0700 pytest dirs.
    base = Path(tempfile.mkdtemp(prefix="shop-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if not runuser:
            pytest.skip("running as root without runuser; PostgreSQL refuses to run as root")
        as_user = [runuser, "-u", "postgres", "--"]
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", _free_port()
    log = base / "server.log"
    try:
        subprocess.run([*as_user, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                       check=True, capture_output=True, timeout=120)
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
                       check=True, capture_output=True, timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = log.read_text() if log.exists() else (exc.stderr or b"").decode(errors="replace")
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc}\n{detail}")
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)
