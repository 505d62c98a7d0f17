"""Door terminals: device accounts bound to doors, and the health of what they send.

A terminal is registered by whoever may register the facility's doors (``registry.edit``,
the installer). Registering it creates its device account, with the ``door_terminal``
role at the facility and a bearer token shown once. The role's permissions reach only
the doors bound to that terminal: every device route resolves the calling account to its
terminal and refuses a door it is not bound to, so an installer hands out no power over
anything but those doors.

A disabled terminal keeps its account and history but is refused on every device route
(and over MQTT) until it is enabled again; a rotated token replaces every earlier one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from wardwatch.access import places, store
from wardwatch.access.model import TerminalStatus
from wardwatch.access.schemas import (
    TerminalCreate,
    TerminalCreated,
    TerminalDoors,
    TerminalHealth,
    TerminalView,
)
from wardwatch.authz.principal import Principal
from wardwatch.authz.schemas import TokenCreate
from wardwatch.authz.service import AccountService
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from wardwatch.kernel.ids import new_id
from wardwatch.registry import store as registry_store
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

TM = store.terminals.c
TD = store.terminal_doors.c
G = store.serial_gaps.c
N = registry_store.org_nodes.c

DEVICE_ROLE = "door_terminal"


@dataclass(frozen=True)
class TerminalRef:
    """A terminal as the device-facing code needs it."""

    id: str
    user_id: str
    facility_id: str
    facility_path: str
    serial_number: str
    name: str
    status: TerminalStatus
    door_ids: frozenset[str]


class Terminals:
    def __init__(self, deps: Deps, registry: RegistryService, accounts: AccountService) -> None:
        self.deps = deps
        self.registry = registry
        self.accounts = accounts

    # ---------------------------------------------------------------- management (people)

    def create(self, principal: Principal, cmd: TerminalCreate) -> TerminalCreated:
        now = self.deps.clock.now()
        terminal_id = new_id()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            facility = self.registry.require_node(
                conn, principal, cmd.facility_id, "registry.edit", "facility"
            )
            if places.facility(conn, facility.id) is None:
                raise NotFound("not_found", params={"object": "facility"})
            door_ids = self._check_doors(conn, facility.id, cmd.door_ids)
            serial = cmd.serial_number
            if conn.execute(select(TM.id).where(func.lower(TM.serial_number) == serial.lower())).first():
                raise Conflict(
                    "terminal_serial_taken", params={"serial": serial}, extra={"field": "serial_number"}
                )
            user_id = self.accounts.create_account(
                conn,
                username=f"terminal-{serial.lower()}",
                display_name=cmd.name,
                password=None,
                home_node_id=facility.id,
                role=DEVICE_ROLE,
                kind="device",
                granted_by=principal.user_id,
            )
            conn.execute(
                insert(store.terminals).values(
                    id=terminal_id,
                    user_id=user_id,
                    facility_id=facility.id,
                    serial_number=serial,
                    name=cmd.name,
                    status=TerminalStatus.ACTIVE.value,
                    created_at=now,
                    updated_at=now,
                    events_accepted=0,
                    events_duplicate=0,
                    events_refused=0,
                    events_lost=0,
                )
            )
            conn.execute(
                insert(store.terminal_doors), [{"terminal_id": terminal_id, "door_id": d} for d in door_ids]
            )
            uow.audit(
                "terminal.create",
                object_type="door_terminal",
                object_id=terminal_id,
                scope=facility.id,
                details={"serial_number": serial, "name": cmd.name, "door_ids": door_ids, "user_id": user_id},
            )
            uow.emit(
                "access.terminal.changed",
                {"id": terminal_id, "facility_id": facility.id, "door_ids": door_ids, "status": "active"},
                key=terminal_id,
            )
            uow.commit()
        token = self._issue_token(user_id, serial)
        view = self.get(principal, terminal_id)
        return TerminalCreated(**view.model_dump(), token=token)

    def _issue_token(self, user_id: str, serial: str) -> str:
        """A token of the device's own, without expiry: a terminal cannot renew one itself."""
        device = self.accounts.principal_of(user_id)
        created = self.accounts.create_token(
            device, TokenCreate(name=f"terminal {serial}", expires_in_days=None)
        )
        return created.token

    def rotate_token(self, principal: Principal, terminal_id: str) -> TerminalCreated:
        """Revoke every token of the terminal and issue a new one (a lost or cloned device)."""
        with self.deps.uow(principal.actor) as uow:
            row = self._require(uow.conn, principal, terminal_id, "registry.edit")
            uow.audit(
                "terminal.token.rotate",
                object_type="door_terminal",
                object_id=row.id,
                scope=row.facility_id,
                details={"serial_number": row.serial_number},
            )
            uow.commit()
        device = self.accounts.principal_of(row.user_id)
        for old in self.accounts.list_tokens(device):
            if not old.revoked:
                self.accounts.revoke_token(device, old.id)
        token = self._issue_token(row.user_id, row.serial_number)
        view = self.get(principal, terminal_id)
        return TerminalCreated(**view.model_dump(), token=token)

    def set_doors(self, principal: Principal, terminal_id: str, cmd: TerminalDoors) -> TerminalView:
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = self._require(conn, principal, terminal_id, "registry.edit")
            door_ids = self._check_doors(conn, row.facility_id, cmd.door_ids)
            before = sorted(conn.execute(select(TD.door_id).where(TD.terminal_id == row.id)).scalars())
            conn.execute(delete(store.terminal_doors).where(TD.terminal_id == row.id))
            conn.execute(
                insert(store.terminal_doors), [{"terminal_id": row.id, "door_id": d} for d in door_ids]
            )
            conn.execute(
                update(store.terminals).where(TM.id == row.id).values(updated_at=self.deps.clock.now())
            )
            uow.audit(
                "terminal.doors",
                object_type="door_terminal",
                object_id=row.id,
                scope=row.facility_id,
                details={"from": before, "to": door_ids},
            )
            uow.emit(
                "access.terminal.changed",
                {"id": row.id, "facility_id": row.facility_id, "door_ids": door_ids, "status": row.status},
                key=row.id,
            )
            uow.commit()
        return self.get(principal, terminal_id)

    def set_status(self, principal: Principal, terminal_id: str, status: TerminalStatus) -> TerminalView:
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = self._require(conn, principal, terminal_id, "registry.edit")
            conn.execute(
                update(store.terminals)
                .where(TM.id == row.id)
                .values(status=status.value, updated_at=self.deps.clock.now())
            )
            uow.audit(
                "terminal.enable" if status == TerminalStatus.ACTIVE else "terminal.disable",
                object_type="door_terminal",
                object_id=row.id,
                scope=row.facility_id,
                details={"from": row.status, "to": status.value},
            )
            door_ids = sorted(conn.execute(select(TD.door_id).where(TD.terminal_id == row.id)).scalars())
            uow.emit(
                "access.terminal.changed",
                {"id": row.id, "facility_id": row.facility_id, "door_ids": door_ids, "status": status.value},
                key=row.id,
            )
            uow.commit()
        return self.get(principal, terminal_id)

    def get(self, principal: Principal, terminal_id: str) -> TerminalView:
        with self.deps.db.read() as conn:
            row = self._row(conn, terminal_id)
            if row is None:
                raise NotFound("not_found", params={"object": "door_terminal"})
            principal.require_visible("registry.read", row.facility_path, object_type="door_terminal")
            return self._view(conn, row)

    def list_terminals(self, principal: Principal, facility_id: str | None = None) -> list[TerminalView]:
        with self.deps.db.read() as conn:
            query = (
                select(store.terminals, N.path.label("facility_path"))
                .select_from(store.terminals.join(registry_store.org_nodes, N.id == TM.facility_id))
                .where(principal.scope_clause("registry.read", N.path))
                .order_by(TM.name)
            )
            if facility_id is not None:
                query = query.where(TM.facility_id == facility_id)
            return [self._view(conn, r) for r in conn.execute(query).all()]

    # ---------------------------------------------------------------- the calling device

    def get_own(self, terminal: TerminalRef) -> TerminalView:
        """The calling terminal's own record (its doors and health), without a person's scope."""
        with self.deps.db.read() as conn:
            row = self._row(conn, terminal.id)
            if row is None:
                raise NotFound("not_found", params={"object": "door_terminal"})
            return self._view(conn, row)

    def terminal_for(self, principal: Principal) -> TerminalRef:
        """The terminal behind a device's token; a person, or a disabled terminal, is refused."""

        def look_up() -> TerminalRef | None:
            with self.deps.db.read() as conn:
                return self.by_users(conn, [principal.user_id]).get(principal.user_id)

        return self.admit(principal, look_up)

    @staticmethod
    def admit(principal: Principal, look_up: Callable[[], TerminalRef | None]) -> TerminalRef:
        """The terminal ``look_up`` finds for a device principal, if it may act; else Forbidden."""
        refused = {"action": "device.route", "object_type": "door_terminal", "object_id": principal.user_id}
        if principal.kind != "device":
            raise Forbidden("terminal_only", audit_info={**refused, "scope": ""})
        ref = look_up()
        if ref is None:
            raise Forbidden("terminal_unknown", audit_info={**refused, "scope": ""})
        if ref.status != TerminalStatus.ACTIVE:
            raise Forbidden("terminal_disabled", audit_info={**refused, "scope": ref.facility_id})
        return ref

    def ref(self, conn: Connection, terminal_id: str) -> TerminalRef | None:
        return next(iter(self._refs(conn, TM.id == terminal_id)), None)

    def by_serial(self, conn: Connection, serial_number: str) -> TerminalRef | None:
        return self.by_serials(conn, [serial_number]).get(serial_number.lower())

    def by_serials(self, conn: Connection, serial_numbers: Iterable[str]) -> dict[str, TerminalRef]:
        """The terminals with these serial numbers, by lower-cased serial, in two queries."""
        wanted = sorted({s.lower() for s in serial_numbers})
        if not wanted:
            return {}
        refs = self._refs(conn, func.lower(TM.serial_number).in_(wanted))
        return {ref.serial_number.lower(): ref for ref in refs}

    def by_users(self, conn: Connection, user_ids: Iterable[str]) -> dict[str, TerminalRef]:
        """The terminals whose device accounts these are, by user id."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        return {ref.user_id: ref for ref in self._refs(conn, TM.user_id.in_(wanted))}

    def _refs(self, conn: Connection, where: Any) -> list[TerminalRef]:
        rows = conn.execute(
            select(store.terminals, N.path.label("facility_path"))
            .select_from(store.terminals.join(registry_store.org_nodes, N.id == TM.facility_id))
            .where(where)
        ).all()
        doors: dict[str, set[str]] = {}
        for terminal_id, door_id in conn.execute(
            select(TD.terminal_id, TD.door_id).where(TD.terminal_id.in_([r.id for r in rows]))
        ):
            doors.setdefault(terminal_id, set()).add(door_id)
        return [
            TerminalRef(
                row.id,
                row.user_id,
                row.facility_id,
                row.facility_path,
                row.serial_number,
                row.name,
                TerminalStatus(row.status),
                frozenset(doors.get(row.id, ())),
            )
            for row in rows
        ]

    def on_door(self, conn: Connection, door_id: str) -> list[TerminalRef]:
        ids = conn.execute(select(TD.terminal_id).where(TD.door_id == door_id)).scalars().all()
        return [ref for ref in (self.ref(conn, i) for i in ids) if ref is not None]

    def refs_in_scope(
        self, conn: Connection, principal: Principal, facility_id: str | None
    ) -> list[TerminalRef]:
        query = (
            select(TM.id)
            .select_from(store.terminals.join(registry_store.org_nodes, N.id == TM.facility_id))
            .where(principal.scope_clause("registry.read", N.path))
            .order_by(TM.name)
        )
        if facility_id is not None:
            query = query.where(TM.facility_id == facility_id)
        refs = [self.ref(conn, i) for i in conn.execute(query).scalars()]
        return [r for r in refs if r is not None]

    # ---------------------------------------------------------------- helpers

    def _row(self, conn: Connection, terminal_id: str) -> DbRow | None:
        return conn.execute(
            select(store.terminals, N.path.label("facility_path"))
            .select_from(store.terminals.join(registry_store.org_nodes, N.id == TM.facility_id))
            .where(TM.id == terminal_id)
        ).first()

    def _require(self, conn: Connection, principal: Principal, terminal_id: str, permission: str) -> DbRow:
        row = self._row(conn, terminal_id)
        if row is None:
            raise NotFound("not_found", params={"object": "door_terminal"})
        principal.require(
            permission,
            row.facility_path,
            object_type="door_terminal",
            object_id=row.id,
            node_id=row.facility_id,
        )
        return row

    def _check_doors(self, conn: Connection, facility_id: str, door_ids: list[str]) -> list[str]:
        wanted = sorted(set(door_ids))
        found = places.doors(conn, wanted)
        unknown = [d for d in wanted if d not in found or found[d].facility_id != facility_id]
        if unknown:
            raise Invalid(
                "terminal_door_unknown",
                params={"ids": ", ".join(unknown)},
                extra={"field": "door_ids", "unknown": unknown},
            )
        return wanted

    def _view(self, conn: Connection, row: DbRow) -> TerminalView:
        door_ids = sorted(conn.execute(select(TD.door_id).where(TD.terminal_id == row.id)).scalars())
        open_gaps = conn.execute(
            select(func.count()).where(and_(G.terminal_id == row.id, G.closed_at.is_(None)))
        ).scalar_one()
        health: dict[str, Any] = {
            "last_seen_at": row.last_seen_at,
            "last_event_at": row.last_event_at,
            "high_serial": row.high_serial,
            "events_accepted": row.events_accepted,
            "events_duplicate": row.events_duplicate,
            "events_refused": row.events_refused,
            "events_lost": row.events_lost,
            "open_gaps": open_gaps,
            "last_refusal_reason": row.last_refusal_reason,
            "last_refusal_at": row.last_refusal_at,
        }
        return TerminalView(
            id=row.id,
            facility_id=row.facility_id,
            serial_number=row.serial_number,
            name=row.name,
            status=row.status,
            user_id=row.user_id,
            door_ids=door_ids,
            health=TerminalHealth(**health),
        )
