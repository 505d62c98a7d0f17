"""The terminals, doors and operating rooms door events are judged against, kept in memory.

At a thousand events a second every intake turn asked the database again which terminal
a serial number names, which doors it is bound to, which facility each door is in and
which operating room it opens into: a third of the intake's time went to answering the
same questions about configuration that changes a few times a day.

What is held here is dropped the moment a change of a terminal, door, zone, facility,
organisation node or operating room commits in this process (``kernel.changes``), so an
administrator who disables a terminal has its next event refused. A change committed by
another process (several servers on one PostgreSQL) is seen once an entry is older than
``access.directory_max_age_s``. A load that raced with a change is not kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

from sqlalchemy import Connection

from wardwatch.access import places
from wardwatch.access.rooms import OperatingRooms
from wardwatch.access.terminals import TerminalRef, Terminals
from wardwatch.audit.model import AuditRecord
from wardwatch.kernel.deps import Deps

WATCHED = ("door_terminal", "door", "zone", "facility", "org_node", "operating_room")
"""Object types whose committed changes can change what a door event is judged against."""
NOT_CHANGES = ("terminal.allowlist.", "terminal.events_", "terminal.token.")
"""Audited actions on those objects that leave the terminal, its doors and places as they are."""

V = TypeVar("V")


class _Held(Generic[V]):
    """One kind of entry: key -> (loaded at, value or None for "there is none")."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, V | None]] = {}

    def fresh(self, keys: Iterable[str], oldest: float) -> tuple[dict[str, V], list[str]]:
        found: dict[str, V] = {}
        missing: list[str] = []
        for key in keys:
            held = self.entries.get(key)
            if held is None or held[0] < oldest:
                missing.append(key)
            elif held[1] is not None:
                found[key] = held[1]
        return found, missing


class DoorDirectory:
    def __init__(self, deps: Deps, terminals: Terminals, rooms: OperatingRooms) -> None:
        self.deps = deps
        self.terminals = terminals
        self.rooms = rooms
        self._lock = threading.Lock()
        self._generation = 0
        self._by_serial: _Held[TerminalRef] = _Held()
        self._by_user: _Held[TerminalRef] = _Held()
        self._doors: _Held[places.Door] = _Held()
        self._rooms: _Held[str] = _Held()
        deps.changes.subscribe(WATCHED, self._changed)

    # ---------------------------------------------------------------- reads

    def terminals_by_serial(self, serials: Iterable[str]) -> dict[str, TerminalRef]:
        """The terminals with these serial numbers, by lower-cased serial."""
        return self._get(self._by_serial, {s.lower() for s in serials}, self.terminals.by_serials)

    def terminal_of_user(self, user_id: str) -> TerminalRef | None:
        """The terminal whose device account ``user_id`` is."""
        return self._get(self._by_user, {user_id}, self.terminals.by_users).get(user_id)

    def doors(self, door_ids: Iterable[str]) -> dict[str, places.Door]:
        return self._get(self._doors, set(door_ids), places.doors)

    def room_of_doors(self, door_ids: Iterable[str]) -> dict[str, str]:
        """door id -> room id, for the doors that open into an operating room."""
        return self._get(self._rooms, set(door_ids), lambda c, ids: self.rooms.room_of_doors(c, sorted(ids)))

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            for held in (self._by_serial, self._by_user, self._doors, self._rooms):
                held.entries.clear()

    # ---------------------------------------------------------------- the cache

    def _get(
        self,
        held: _Held[V],
        keys: set[str],
        load: Callable[[Connection, list[str]], dict[str, V]],
    ) -> dict[str, V]:
        max_age = self.deps.settings.access.directory_max_age_s
        now = time.monotonic()
        with self._lock:
            found, missing = held.fresh(keys, now - max_age)
            generation = self._generation
        if not missing:
            return found
        # Its own read, begun after the generation was taken: what it reads is at least as
        # new as every change already announced.
        with self.deps.db.read() as conn:
            loaded = load(conn, sorted(missing))
        found.update({k: v for k, v in loaded.items() if k in keys})
        with self._lock:
            # A change committed while this load ran may not be in what it read: not kept.
            if generation == self._generation and max_age > 0:
                for key in missing:
                    held.entries[key] = (now, loaded.get(key))
        return found

    def _changed(self, records: Sequence[AuditRecord]) -> None:
        if any(not r.action.startswith(NOT_CHANGES) for r in records):
            self.clear()
