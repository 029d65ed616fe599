"""Primary/replica database routing.

Reads go to the ``replica`` alias when ``DATABASE_REPLICA_URL`` configured one, writes
always go to ``default``. Code that must read its own writes (e.g. locking rows while
placing an order) asks for ``router.db_for_write(Model)`` explicitly.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Model

from shop.config import REPLICA_ALIAS

PRIMARY_ALIAS = "default"


class ReplicaRouter:
    """Route reads to the replica if one is configured; keep writes and migrations on the primary."""

    def __init__(self, replica_alias: str = REPLICA_ALIAS, primary_alias: str = PRIMARY_ALIAS) -> None:
        self.replica_alias = replica_alias
        self.primary_alias = primary_alias

    @property
    def replica_configured(self) -> bool:
        # Read at call time so override_settings(DATABASES=...) is honoured in tests.
        return self.replica_alias in settings.DATABASES

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return self.replica_alias if self.replica_configured else self.primary_alias

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return self.primary_alias

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # Primary and replica hold the same data, so objects loaded from either may be related.
        pool = {self.primary_alias, self.replica_alias}
        if obj1._state.db in pool and obj2._state.db in pool:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        # The replica follows the primary through replication; never migrate it directly.
        return db == self.primary_alias
