"""Allow-lists: what each terminal must hold for each of its doors, and whether it does.

A door's list is computed when the terminal asks: every practitioner of the facility's
register chain whose licence is active and in force today (facility time zone) and whose
profession the door's kind admits (``access.door_professions``). Each entry carries
``valid_until``, the instant the licence lapses, so an offline terminal stops admitting
on time. A suspension or revocation imported now is gone from the list at the next sync.

WardWatch remembers what it last handed each (terminal, door) and the version each entry
changed in, with removals kept as tombstones; ``since=<version>`` then answers with only
what changed. An unknown or future ``since`` gets the whole list (``full: true``).

Reconciliation: a terminal reports the person ids it holds and ``list_hash`` over them.
WardWatch compares that with what it should hold *now* and lists every terminal whose
copy differs (missing people, extra people: the dangerous kind, or different expiry
times), or that never reported. A terminal that drifts is announced on the bus and its
facility supervisor gets a notice.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from wardwatch.access import places, store
from wardwatch.access.model import (
    AllowEntry,
    Drift,
    admits,
    compare_lists,
    end_of_day,
    iso,
    list_hash,
    local_day,
)
from wardwatch.access.register import PractitionerRegister
from wardwatch.access.schemas import AllowEntryView, AllowListView, ListReport, ReconciliationView
from wardwatch.access.terminals import TerminalRef, Terminals
from wardwatch.alerts.inbox import Inbox, NoticeKind
from wardwatch.authz.principal import Principal
from wardwatch.kernel.actor import Actor
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import NotFound
from wardwatch.kernel.outbox import insert_ignore

log = logging.getLogger(__name__)

AE = store.allowlist_entries.c
AS = store.allowlist_state.c


class AllowLists:
    def __init__(
        self, deps: Deps, register: PractitionerRegister, terminals: Terminals, inbox: Inbox | None = None
    ) -> None:
        self.deps = deps
        self.register = register
        self.terminals = terminals
        self.inbox = inbox

    # ---------------------------------------------------------------- what a door admits

    def expected(self, conn: Connection, door: places.Door) -> dict[str, AllowEntry]:
        professions = self.deps.settings.access.door_professions
        today = local_day(self.deps.clock.now(), door.timezone)
        found = {}
        for person_id, reg in self.register.applicable(conn, door.facility_path).items():
            record = reg.record
            if not admits(record, door.kind, professions, today):
                continue
            found[person_id] = AllowEntry(
                person_id=person_id,
                licence_number=record.licence_number,
                name=record.name,
                profession=record.profession.value,
                valid_until=end_of_day(record.valid_to, door.timezone) if record.valid_to else None,
            )
        return found

    @staticmethod
    def _hash(entries: dict[str, AllowEntry]) -> str:
        return list_hash((e.person_id, iso(e.valid_until)) for e in entries.values())

    def _door_of(self, conn: Connection, terminal: TerminalRef, door_id: str) -> places.Door:
        door = places.door(conn, door_id) if door_id in terminal.door_ids else None
        if door is None:
            # A door of someone else's is one this terminal is not told exists.
            raise NotFound("not_found", params={"object": "door"})
        return door

    # ---------------------------------------------------------------- sync (the device)

    def sync(self, principal: Principal, door_id: str, since: int | None) -> AllowListView:
        terminal = self.terminals.terminal_for(principal)
        now = self.deps.clock.now()
        with self.deps.db.write() as conn:
            door = self._door_of(conn, terminal, door_id)
            insert_ignore(
                conn,
                store.allowlist_state,
                {
                    "terminal_id": terminal.id,
                    "door_id": door.id,
                    "version": 0,
                    "hash": list_hash([]),
                    "synced_at": now,
                },
            )
            state = conn.execute(
                select(store.allowlist_state)
                .where(and_(AS.terminal_id == terminal.id, AS.door_id == door.id))
                .with_for_update()
            ).one()
            expected = self.expected(conn, door)
            version = self._publish(conn, terminal.id, door.id, expected, state.version)
            digest = self._hash(expected)
            conn.execute(
                update(store.allowlist_state)
                .where(and_(AS.terminal_id == terminal.id, AS.door_id == door.id))
                .values(version=version, hash=digest, synced_at=now)
            )
            conn.execute(
                update(store.terminals).where(store.terminals.c.id == terminal.id).values(last_seen_at=now)
            )
            full = since is None or since < 0 or since > version
            if full:
                entries = sorted(expected.values(), key=lambda e: e.person_id)
                removed: list[str] = []
            else:
                changed = conn.execute(
                    select(AE.person_id, AE.entry, AE.removed).where(
                        and_(AE.terminal_id == terminal.id, AE.door_id == door.id, AE.version > since)
                    )
                ).all()
                entries = sorted(
                    (expected[r.person_id] for r in changed if not r.removed and r.person_id in expected),
                    key=lambda e: e.person_id,
                )
                removed = sorted(r.person_id for r in changed if r.removed)
        return AllowListView(
            terminal_id=terminal.id,
            door_id=door.id,
            version=version,
            since=since,
            full=full,
            entries=[AllowEntryView.model_validate(e.as_dict()) for e in entries],
            removed=removed,
            count=len(expected),
            hash=digest,
        )

    def _publish(
        self, conn: Connection, terminal_id: str, door_id: str, expected: dict[str, AllowEntry], version: int
    ) -> int:
        """Record what changed since the terminal's last sync; returns the list's version."""
        stored = {
            r.person_id: r
            for r in conn.execute(
                select(AE.person_id, AE.digest, AE.removed).where(
                    and_(AE.terminal_id == terminal_id, AE.door_id == door_id)
                )
            )
        }
        upserts = [
            e
            for p, e in expected.items()
            if p not in stored or stored[p].removed or stored[p].digest != e.digest()
        ]
        removals = [p for p, r in stored.items() if not r.removed and p not in expected]
        if not upserts and not removals:
            return version
        new = version + 1
        key = {"terminal_id": terminal_id, "door_id": door_id}
        for entry in upserts:
            values = {"digest": entry.digest(), "entry": entry.as_dict(), "version": new, "removed": False}
            if entry.person_id in stored:
                conn.execute(
                    update(store.allowlist_entries)
                    .where(
                        and_(
                            AE.terminal_id == terminal_id,
                            AE.door_id == door_id,
                            AE.person_id == entry.person_id,
                        )
                    )
                    .values(**values)
                )
            else:
                conn.execute(
                    insert(store.allowlist_entries).values(**key, person_id=entry.person_id, **values)
                )
        for person_id in removals:
            conn.execute(
                update(store.allowlist_entries)
                .where(and_(AE.terminal_id == terminal_id, AE.door_id == door_id, AE.person_id == person_id))
                .values(version=new, removed=True)
            )
        return new

    # ---------------------------------------------------------------- reconciliation

    def report(self, principal: Principal, door_id: str, cmd: ListReport) -> ReconciliationView:
        """A terminal says what it holds; the answer says whether that is what it should hold."""
        terminal = self.terminals.terminal_for(principal)
        now = self.deps.clock.now()
        with self.deps.db.write() as conn:
            door = self._door_of(conn, terminal, door_id)
            expected = self.expected(conn, door)
            drift = compare_lists(
                {p: iso(e.valid_until) for p, e in expected.items()}, cmd.person_ids, cmd.hash
            )
            insert_ignore(
                conn,
                store.allowlist_state,
                {
                    "terminal_id": terminal.id,
                    "door_id": door.id,
                    "version": 0,
                    "hash": list_hash([]),
                    "synced_at": now,
                },
            )
            before = conn.execute(
                select(AS.report_in_sync).where(and_(AS.terminal_id == terminal.id, AS.door_id == door.id))
            ).scalar()
            conn.execute(
                update(store.allowlist_state)
                .where(and_(AS.terminal_id == terminal.id, AS.door_id == door.id))
                .values(
                    reported_at=now,
                    reported_ids=sorted(set(cmd.person_ids)),
                    reported_hash=cmd.hash.lower(),
                    report_in_sync=drift.in_sync,
                )
            )
            conn.execute(
                update(store.terminals).where(store.terminals.c.id == terminal.id).values(last_seen_at=now)
            )
        if not drift.in_sync and before is not False:
            self._announce_drift(terminal, door, drift)
        return self._reconciliation_view(terminal, door, expected, drift, now, len(set(cmd.person_ids)))

    def _announce_drift(self, terminal: TerminalRef, door: places.Door, drift: Drift) -> None:
        """Loud: a terminal that still admits someone it should not is a failing device."""
        payload: dict[str, Any] = {
            "terminal_id": terminal.id,
            "facility_id": terminal.facility_id,
            "door_id": door.id,
            "missing": len(drift.missing),
            "extra": len(drift.extra),
            "hash_matches": drift.hash_matches,
        }
        log.warning("a door terminal holds a different allow-list than it should", extra=payload)
        with self.deps.uow(self._actor(terminal)) as uow:
            uow.audit(
                "terminal.allowlist.drifted",
                object_type="door_terminal",
                object_id=terminal.id,
                scope=terminal.facility_id,
                details=payload,
            )
            uow.emit("access.terminal.drifted", payload, key=terminal.id)
            if self.inbox is not None:
                self.inbox.deliver(
                    uow,
                    node_id=terminal.facility_id,
                    roles=["facility_supervisor"],
                    kind=NoticeKind.TERMINAL_DRIFT,
                    params={
                        "terminal": terminal.name,
                        "door": door.name,
                        "missing": len(drift.missing),
                        "extra": len(drift.extra),
                    },
                    ref_type="door_terminal",
                    ref_id=terminal.id,
                    severity="yellow" if drift.extra else "info",
                )
            uow.commit()

    @staticmethod
    def _actor(terminal: TerminalRef) -> Actor:
        """The terminal itself: its report is what revealed the drift."""
        return Actor(
            "device", terminal.user_id, f"terminal-{terminal.serial_number.lower()}", terminal.facility_id
        )

    def _reconciliation_view(
        self,
        terminal: TerminalRef,
        door: places.Door,
        expected: dict[str, AllowEntry],
        drift: Drift | None,
        reported_at: Any,
        reported_count: int | None,
    ) -> ReconciliationView:
        state = "unreported" if drift is None else "in_sync" if drift.in_sync else "drifted"
        return ReconciliationView(
            terminal_id=terminal.id,
            terminal_name=terminal.name,
            serial_number=terminal.serial_number,
            facility_id=terminal.facility_id,
            door_id=door.id,
            state=state,
            reported_at=reported_at,
            reported_count=reported_count,
            expected_count=len(expected),
            expected_hash=self._hash(expected),
            missing=drift.missing if drift else sorted(expected),
            extra=drift.extra if drift else [],
            hash_matches=drift.hash_matches if drift else False,
        )

    def reconciliation(
        self, principal: Principal, facility_id: str | None = None, *, include_in_sync: bool = False
    ) -> list[ReconciliationView]:
        """Every (terminal, door) in scope whose held list differs from what it should hold now.

        The comparison is with the list as it should be now, not when the terminal last
        reported: a suspension imported after the report makes that terminal drift until it
        syncs and reports again.
        """
        views = []
        with self.deps.db.read() as conn:
            for terminal in self.terminals.refs_in_scope(conn, principal, facility_id):
                doors = places.doors(conn, terminal.door_ids)
                for door in sorted(doors.values(), key=lambda d: d.name):
                    expected = self.expected(conn, door)
                    state = conn.execute(
                        select(store.allowlist_state).where(
                            and_(AS.terminal_id == terminal.id, AS.door_id == door.id)
                        )
                    ).first()
                    drift = None
                    if state is not None and state.reported_at is not None:
                        drift = self._drift_of_report(state, expected)
                    view = self._reconciliation_view(
                        terminal,
                        door,
                        expected,
                        drift,
                        state.reported_at if state else None,
                        len(state.reported_ids or []) if state and state.reported_at else None,
                    )
                    if include_in_sync or view.state != "in_sync":
                        views.append(view)
        return views

    @staticmethod
    def _drift_of_report(state: Any, expected: dict[str, AllowEntry]) -> Drift:
        wanted = {p: iso(e.valid_until) for p, e in expected.items()}
        return compare_lists(wanted, state.reported_ids or [], state.reported_hash or "")
