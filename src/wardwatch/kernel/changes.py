"""What this process committed, told to in-process caches the moment it is committed.

Every change is audited in its own transaction (``kernel.uow``), so the audit records of a
committed unit of work are a complete list of what changed, by object type. A cache of
configuration that hot paths read (the door-event intake's terminals, doors and rooms)
subscribes here and drops what it holds when a matching change commits: the next read
sees the change, with no bus round trip in between. Changes made by another process are
not seen here; caches bound that case with an age limit of their own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence

from wardwatch.audit.model import AuditRecord

log = logging.getLogger(__name__)

Listener = Callable[[Sequence[AuditRecord]], None]


class ChangeFeed:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[tuple[frozenset[str], Listener]] = []

    def subscribe(self, object_types: Collection[str], listener: Listener) -> None:
        """Call ``listener`` with the committed records of these object types (after the commit)."""
        with self._lock:
            self._listeners.append((frozenset(object_types), listener))

    def committed(self, records: Sequence[AuditRecord]) -> None:
        """Called by a unit of work once its transaction committed; never raises."""
        with self._lock:
            listeners = list(self._listeners)
        for types, listener in listeners:
            matching = [r for r in records if r.object_type in types]
            if not matching:
                continue
            try:
                listener(matching)
            except Exception:
                log.exception("a committed change could not be passed on to a cache")
