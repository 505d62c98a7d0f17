"""The shared dependencies every wing's service is built with."""

from __future__ import annotations

from dataclasses import dataclass, field

from wardwatch.kernel.actor import Actor
from wardwatch.kernel.changes import ChangeFeed
from wardwatch.kernel.clock import Clock
from wardwatch.kernel.config import Settings
from wardwatch.kernel.crypto import SecretBox
from wardwatch.kernel.db import Database
from wardwatch.kernel.uow import AuditAppender, RelayNotifier, UnitOfWork


@dataclass
class Deps:
    settings: Settings
    db: Database
    clock: Clock
    audit: AuditAppender
    box: SecretBox
    relay: RelayNotifier | None = None
    changes: ChangeFeed = field(default_factory=ChangeFeed)
    """Told of every committed unit of work, for this process's caches."""

    def uow(self, actor: Actor) -> UnitOfWork:
        """A write unit of work acting as ``actor``."""
        return UnitOfWork(self.db, self.audit, self.relay, actor, changes=self.changes)
