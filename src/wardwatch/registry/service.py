"""Registry use cases: each checks scope, enforces the rules, writes, audits and emits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, delete, insert, select, update

from wardwatch.authz.principal import Principal
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, Invalid, NotFound
from wardwatch.kernel.ids import new_id
from wardwatch.registry import store
from wardwatch.registry.model import (
    ActivationFacts,
    AreaType,
    CameraStatus,
    OrgKind,
    RolloutStatus,
    activation_missing,
    check_activation,
    check_parent,
    check_placement,
    check_rollout_transition,
    is_overdue,
    is_private,
    validate_rtsp_url,
    validate_timezone,
)
from wardwatch.registry.schemas import (
    CameraCreate,
    CameraCredentials,
    CameraUpdate,
    CameraView,
    DoorCreate,
    DoorUpdate,
    DoorView,
    FacilityContacts,
    FacilityCreate,
    FacilityUpdate,
    FacilityView,
    OrgNodeCreate,
    OrgNodeUpdate,
    OrgNodeView,
    RolloutDeadline,
    RolloutEntry,
    RolloutTransition,
    RolloutView,
    ZoneCreate,
    ZoneUpdate,
    ZoneView,
)

N = store.org_nodes.c
F = store.facilities.c
Z = store.zones.c
C = store.cameras.c
D = store.doors.c


@dataclass(frozen=True)
class NodeRef:
    id: str
    kind: OrgKind
    name: str
    parent_id: str | None
    path: str
    depth: int


def _node(row: DbRow) -> NodeRef:
    return NodeRef(row.id, OrgKind(row.kind), row.name, row.parent_id, row.path, row.depth)


@dataclass(frozen=True)
class ActiveCamera:
    id: str
    facility_id: str
    main_url: str
    sub_url: str | None
    retention_days: int
    credentials: tuple[str, str] | None = field(repr=False)


@dataclass(frozen=True)
class CameraAccess:
    """What the media plane needs to know about a camera a caller was allowed to use."""

    id: str
    facility_id: str
    name: str
    main_url: str
    sub_url: str | None
    purposes: tuple[str, ...]
    retention_days: int | None
    status: CameraStatus
    facility_path: str = ""


def _credentials_context(camera_id: str) -> str:
    return f"camera:{camera_id}:credentials"


class RegistryService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # ---------------------------------------------------------------- tree lookups

    def node(self, conn: Connection, node_id: str) -> NodeRef | None:
        row = conn.execute(select(store.org_nodes).where(N.id == node_id)).first()
        return _node(row) if row else None

    def paths_of(self, conn: Connection, node_ids: list[str]) -> dict[str, str]:
        if not node_ids:
            return {}
        rows = conn.execute(select(N.id, N.path).where(N.id.in_(node_ids)))
        return {r.id: r.path for r in rows}

    def roots(self, conn: Connection) -> list[NodeRef]:
        return [_node(r) for r in conn.execute(select(store.org_nodes).where(N.depth == 0))]

    def visible_node_ids(self, conn: Connection, principal: Principal, permission: str) -> list[str]:
        """Ids of every org node on which ``principal`` holds ``permission``."""
        rows = conn.execute(select(N.id).where(principal.scope_clause(permission, N.path)))
        return [r.id for r in rows]

    def require_node(
        self, conn: Connection, principal: Principal, node_id: str, permission: str, what: str
    ) -> NodeRef:
        """The node, if ``principal`` holds ``permission`` on it (404 or 403 otherwise)."""
        node = self.node(conn, node_id)
        if node is None:
            raise NotFound("not_found", params={"object": what})
        principal.require(permission, node.path, object_type=what, object_id=node.id, node_id=node.id)
        return node

    def _require_facility(
        self, conn: Connection, principal: Principal, facility_id: str, permission: str
    ) -> NodeRef:
        node = self.require_node(conn, principal, facility_id, permission, "facility")
        if node.kind != OrgKind.FACILITY:
            raise NotFound("not_found", params={"object": "facility"})
        return node

    # ---------------------------------------------------------------- org nodes

    def create_node(self, principal: Principal, cmd: OrgNodeCreate) -> OrgNodeView:
        if cmd.kind == OrgKind.FACILITY:
            raise Invalid("use_facility_endpoint", extra={"field": "kind"})
        if cmd.parent_id is None:
            raise Invalid("parent_required", extra={"field": "parent_id"})
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            parent = self.require_node(uow.conn, principal, cmd.parent_id, "registry.edit", "org_node")
            check_parent(parent.kind, cmd.kind)
            node = self._insert_node(uow.conn, parent, cmd.kind, cmd.name, now)
            uow.audit(
                "org.node.create",
                object_type="org_node",
                object_id=node.id,
                scope=node.id,
                details={"kind": node.kind.value, "name": node.name, "parent_id": parent.id},
            )
            uow.emit(
                "registry.org_node.created",
                {"id": node.id, "kind": node.kind.value, "parent_id": parent.id},
                key=node.id,
            )
            uow.commit()
        return self._node_view(node)

    def create_root(self, conn: Connection, kind: OrgKind, name: str) -> NodeRef:
        """A new tree root; only ``wardwatch init`` does this, inside its own unit of work."""
        node_id = new_id()
        now = self.deps.clock.now()
        conn.execute(
            insert(store.org_nodes).values(
                id=node_id,
                parent_id=None,
                kind=kind.value,
                name=name,
                path=f"/{node_id}/",
                depth=0,
                created_at=now,
                updated_at=now,
            )
        )
        return NodeRef(node_id, kind, name, None, f"/{node_id}/", 0)

    def _insert_node(
        self, conn: Connection, parent: NodeRef, kind: OrgKind, name: str, now: datetime
    ) -> NodeRef:
        node_id = new_id()
        path = f"{parent.path}{node_id}/"
        conn.execute(
            insert(store.org_nodes).values(
                id=node_id,
                parent_id=parent.id,
                kind=kind.value,
                name=name,
                path=path,
                depth=parent.depth + 1,
                created_at=now,
                updated_at=now,
            )
        )
        return NodeRef(node_id, kind, name, parent.id, path, parent.depth + 1)

    def rename_node(self, principal: Principal, node_id: str, cmd: OrgNodeUpdate) -> OrgNodeView:
        with self.deps.uow(principal.actor) as uow:
            node = self.require_node(uow.conn, principal, node_id, "registry.edit", "org_node")
            uow.conn.execute(
                update(store.org_nodes)
                .where(N.id == node.id)
                .values(name=cmd.name, updated_at=self.deps.clock.now())
            )
            uow.audit(
                "org.node.rename",
                object_type="org_node",
                object_id=node.id,
                scope=node.id,
                details={"from": node.name, "to": cmd.name},
            )
            uow.commit()
        return self._node_view(NodeRef(node.id, node.kind, cmd.name, node.parent_id, node.path, node.depth))

    def get_node(self, principal: Principal, node_id: str) -> OrgNodeView:
        with self.deps.db.read() as conn:
            node = self.node(conn, node_id)
            if node is None:
                raise NotFound("not_found", params={"object": "org_node"})
            principal.require_visible("org.read", node.path, object_type="org_node")
            return self._node_view(node)

    def list_nodes(self, principal: Principal) -> list[OrgNodeView]:
        with self.deps.db.read() as conn:
            rows = conn.execute(
                select(store.org_nodes)
                .where(principal.scope_clause("org.read", N.path))
                .order_by(N.depth, N.name)
            ).all()
        return [self._node_view(_node(r)) for r in rows]

    @staticmethod
    def _node_view(node: NodeRef) -> OrgNodeView:
        return OrgNodeView(
            id=node.id, kind=node.kind, name=node.name, parent_id=node.parent_id, depth=node.depth
        )

    # ---------------------------------------------------------------- facilities

    def create_facility(self, principal: Principal, cmd: FacilityCreate) -> FacilityView:
        validate_timezone(cmd.timezone)
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            parent = self.require_node(conn, principal, cmd.parent_id, "registry.edit", "org_node")
            check_parent(parent.kind, OrgKind.FACILITY)
            node = self._insert_node(conn, parent, OrgKind.FACILITY, cmd.name, now)
            self._check_enforcement(conn, cmd.enforcement_node_id, node.path)
            conn.execute(
                insert(store.facilities).values(
                    node_id=node.id,
                    facility_type=cmd.facility_type.value,
                    address=cmd.address,
                    timezone=cmd.timezone,
                    contacts=cmd.contacts.model_dump(),
                    enforcement_node_id=cmd.enforcement_node_id,
                    rollout_status=RolloutStatus.REQUIRED.value,
                    required_by=cmd.required_by,
                    updated_at=now,
                )
            )
            conn.execute(
                insert(store.rollout_events).values(
                    id=new_id(),
                    facility_id=node.id,
                    from_status=None,
                    to_status=RolloutStatus.REQUIRED.value,
                    note="",
                    actor=principal.actor.ref,
                    at=now,
                )
            )
            uow.audit(
                "facility.create",
                object_type="facility",
                object_id=node.id,
                scope=node.id,
                details={"name": cmd.name, "facility_type": cmd.facility_type.value, "parent_id": parent.id},
            )
            uow.emit("registry.facility.created", {"id": node.id, "parent_id": parent.id}, key=node.id)
            uow.commit()
        return self.get_facility(principal, node.id)

    def _check_enforcement(self, conn: Connection, node_id: str | None, facility_path: str) -> None:
        """The enforcement team must sit on the facility's own chain of jurisdiction."""
        if node_id is None:
            return
        node = self.node(conn, node_id)
        if node is None or not facility_path.startswith(node.path) or node.kind == OrgKind.FACILITY:
            raise Invalid("enforcement_not_jurisdiction", extra={"field": "enforcement_node_id"})

    def update_facility(self, principal: Principal, facility_id: str, cmd: FacilityUpdate) -> FacilityView:
        changes = cmd.model_dump(exclude_unset=True)
        if not changes:
            raise Invalid("nothing_to_change")
        if cmd.timezone is not None:
            validate_timezone(cmd.timezone)
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            node = self._require_facility(conn, principal, facility_id, "registry.edit")
            values: dict[str, Any] = {"updated_at": now}
            for key in ("facility_type", "address", "timezone", "enforcement_node_id"):
                if key in changes:
                    values[key] = changes[key]
            if "contacts" in changes:
                values["contacts"] = FacilityContacts.model_validate(changes["contacts"]).model_dump()
            if "enforcement_node_id" in changes:
                self._check_enforcement(conn, changes["enforcement_node_id"], node.path)
            conn.execute(update(store.facilities).where(F.node_id == node.id).values(**values))
            if "name" in changes and changes["name"] is not None:
                conn.execute(
                    update(store.org_nodes)
                    .where(N.id == node.id)
                    .values(name=changes["name"], updated_at=now)
                )
            uow.audit(
                "facility.update",
                object_type="facility",
                object_id=node.id,
                scope=node.id,
                details={"fields": sorted(changes)},
            )
            uow.commit()
        return self.get_facility(principal, facility_id)

    def _facility_query(self) -> Any:
        return select(
            N.id,
            N.name,
            N.parent_id,
            N.path,
            F.facility_type,
            F.address,
            F.timezone,
            F.contacts,
            F.enforcement_node_id,
            F.rollout_status,
            F.required_by,
        ).select_from(store.org_nodes.join(store.facilities, F.node_id == N.id))

    def _facility_view(self, row: DbRow) -> FacilityView:
        status = RolloutStatus(row.rollout_status)
        contacts = row.contacts if isinstance(row.contacts, dict) else json.loads(row.contacts)
        return FacilityView(
            id=row.id,
            name=row.name,
            parent_id=row.parent_id,
            facility_type=row.facility_type,
            address=row.address,
            timezone=row.timezone,
            contacts=FacilityContacts.model_validate(contacts),
            enforcement_node_id=row.enforcement_node_id,
            rollout=RolloutView(
                status=status,
                required_by=row.required_by,
                overdue=is_overdue(row.required_by, status, self._today(row.timezone)),
            ),
        )

    def _today(self, timezone: str) -> date:
        return self.deps.clock.now().astimezone(ZoneInfo(timezone)).date()

    def get_facility(self, principal: Principal, facility_id: str) -> FacilityView:
        with self.deps.db.read() as conn:
            row = conn.execute(self._facility_query().where(N.id == facility_id)).first()
            if row is None:
                raise NotFound("not_found", params={"object": "facility"})
            principal.require_visible("org.read", row.path, object_type="facility")
            return self._facility_view(row)

    def list_facilities(self, principal: Principal) -> list[FacilityView]:
        with self.deps.db.read() as conn:
            rows = conn.execute(
                self._facility_query().where(principal.scope_clause("org.read", N.path)).order_by(N.name)
            ).all()
        return [self._facility_view(r) for r in rows]

    def facility_timezone(self, conn: Connection, facility_id: str) -> str | None:
        return conn.execute(select(F.timezone).where(F.node_id == facility_id)).scalar()

    # ---------------------------------------------------------------- rollout

    def transition_rollout(
        self, principal: Principal, facility_id: str, cmd: RolloutTransition
    ) -> FacilityView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            node = self._require_facility(conn, principal, facility_id, "rollout.edit")
            current = RolloutStatus(
                conn.execute(select(F.rollout_status).where(F.node_id == node.id)).scalar_one()
            )
            check_rollout_transition(current, cmd.status, cmd.note)
            conn.execute(
                update(store.facilities)
                .where(F.node_id == node.id)
                .values(rollout_status=cmd.status.value, updated_at=now)
            )
            conn.execute(
                insert(store.rollout_events).values(
                    id=new_id(),
                    facility_id=node.id,
                    from_status=current.value,
                    to_status=cmd.status.value,
                    note=cmd.note,
                    actor=principal.actor.ref,
                    at=now,
                )
            )
            uow.audit(
                "rollout.transition",
                object_type="facility",
                object_id=node.id,
                scope=node.id,
                details={"from": current.value, "to": cmd.status.value, "note": cmd.note},
            )
            uow.emit(
                "registry.rollout.changed", {"facility_id": node.id, "status": cmd.status.value}, key=node.id
            )
            uow.commit()
        return self.get_facility(principal, facility_id)

    def set_rollout_deadline(
        self, principal: Principal, facility_id: str, cmd: RolloutDeadline
    ) -> FacilityView:
        with self.deps.uow(principal.actor) as uow:
            node = self._require_facility(uow.conn, principal, facility_id, "rollout.edit")
            uow.conn.execute(
                update(store.facilities)
                .where(F.node_id == node.id)
                .values(required_by=cmd.required_by, updated_at=self.deps.clock.now())
            )
            uow.audit(
                "rollout.deadline",
                object_type="facility",
                object_id=node.id,
                scope=node.id,
                details={"required_by": cmd.required_by.isoformat() if cmd.required_by else None},
            )
            uow.commit()
        return self.get_facility(principal, facility_id)

    def list_rollout(
        self, principal: Principal, node_id: str | None, overdue_only: bool
    ) -> list[RolloutEntry]:
        """Rollout state of every facility in a subtree (default: all the caller may read)."""
        with self.deps.db.read() as conn:
            query = self._facility_query().where(principal.scope_clause("rollout.read", N.path))
            if node_id is not None:
                root = self.node(conn, node_id)
                if root is None:
                    raise NotFound("not_found", params={"object": "org_node"})
                principal.require_visible("rollout.read", root.path, object_type="org_node")
                query = query.where(N.path.startswith(root.path, autoescape=True))
            rows = conn.execute(query.order_by(F.required_by, N.name)).all()
        entries = []
        for row in rows:
            status = RolloutStatus(row.rollout_status)
            overdue = is_overdue(row.required_by, status, self._today(row.timezone))
            if overdue_only and not overdue:
                continue
            entries.append(
                RolloutEntry(
                    facility_id=row.id,
                    name=row.name,
                    parent_id=row.parent_id,
                    status=status,
                    required_by=row.required_by,
                    overdue=overdue,
                )
            )
        return entries

    # ---------------------------------------------------------------- zones

    def create_zone(self, principal: Principal, facility_id: str, cmd: ZoneCreate) -> ZoneView:
        now = self.deps.clock.now()
        zone_id = new_id()
        with self.deps.uow(principal.actor) as uow:
            node = self._require_facility(uow.conn, principal, facility_id, "registry.edit")
            self._check_zone_name_free(uow.conn, node.id, cmd.name, None)
            uow.conn.execute(
                insert(store.zones).values(
                    id=zone_id,
                    facility_id=node.id,
                    name=cmd.name,
                    area_type=cmd.area_type.value,
                    created_at=now,
                    updated_at=now,
                )
            )
            uow.audit(
                "zone.create",
                object_type="zone",
                object_id=zone_id,
                scope=node.id,
                details={"name": cmd.name, "area_type": cmd.area_type.value},
            )
            uow.commit()
        return ZoneView(
            id=zone_id,
            facility_id=facility_id,
            name=cmd.name,
            area_type=cmd.area_type,
            private=is_private(cmd.area_type),
        )

    def _check_zone_name_free(
        self, conn: Connection, facility_id: str, name: str, zone_id: str | None
    ) -> None:
        clash = conn.execute(select(Z.id).where(and_(Z.facility_id == facility_id, Z.name == name))).scalar()
        if clash is not None and clash != zone_id:
            raise Conflict("zone_name_taken", params={"name": name}, extra={"field": "name"})

    def _zone_row(self, conn: Connection, zone_id: str) -> DbRow | None:
        return conn.execute(
            select(Z.id, Z.facility_id, Z.name, Z.area_type, N.path)
            .select_from(store.zones.join(store.org_nodes, N.id == Z.facility_id))
            .where(Z.id == zone_id)
        ).first()

    def _require_zone(self, conn: Connection, principal: Principal, zone_id: str, permission: str) -> DbRow:
        row = self._zone_row(conn, zone_id)
        if row is None:
            raise NotFound("not_found", params={"object": "zone"})
        principal.require(permission, row.path, object_type="zone", object_id=row.id, node_id=row.facility_id)
        return row

    def update_zone(self, principal: Principal, zone_id: str, cmd: ZoneUpdate) -> ZoneView:
        changes = cmd.model_dump(exclude_unset=True, exclude_none=True)
        if not changes:
            raise Invalid("nothing_to_change")
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = self._require_zone(conn, principal, zone_id, "registry.edit")
            if "name" in changes:
                self._check_zone_name_free(conn, row.facility_id, changes["name"], row.id)
            if cmd.area_type is not None and is_private(cmd.area_type):
                placed = conn.execute(select(C.id).where(C.zone_id == row.id).limit(1)).first()
                if placed is not None:
                    raise Invalid(
                        "zone_has_cameras",
                        params={"zone": row.name, "area_type": cmd.area_type.value},
                        extra={"rule": "placement.private_zone", "field": "area_type"},
                    )
            values = {k: (v.value if isinstance(v, AreaType) else v) for k, v in changes.items()}
            conn.execute(
                update(store.zones).where(Z.id == row.id).values(**values, updated_at=self.deps.clock.now())
            )
            uow.audit(
                "zone.update",
                object_type="zone",
                object_id=row.id,
                scope=row.facility_id,
                details={k: str(v) for k, v in values.items()},
            )
            uow.commit()
        return self.get_zone(principal, zone_id)

    def get_zone(self, principal: Principal, zone_id: str) -> ZoneView:
        with self.deps.db.read() as conn:
            row = self._zone_row(conn, zone_id)
            if row is None:
                raise NotFound("not_found", params={"object": "zone"})
            principal.require_visible("registry.read", row.path, object_type="zone")
            return self._zone_view(row)

    @staticmethod
    def _zone_view(row: DbRow) -> ZoneView:
        area = AreaType(row.area_type)
        return ZoneView(
            id=row.id, facility_id=row.facility_id, name=row.name, area_type=area, private=is_private(area)
        )

    def list_zones(self, principal: Principal, facility_id: str) -> list[ZoneView]:
        with self.deps.db.read() as conn:
            node = self.node(conn, facility_id)
            if node is None or node.kind != OrgKind.FACILITY:
                raise NotFound("not_found", params={"object": "facility"})
            principal.require_visible("registry.read", node.path, object_type="facility")
            rows = conn.execute(
                select(Z.id, Z.facility_id, Z.name, Z.area_type, N.path)
                .select_from(store.zones.join(store.org_nodes, N.id == Z.facility_id))
                .where(Z.facility_id == node.id)
                .order_by(Z.name)
            ).all()
        return [self._zone_view(r) for r in rows]

    # ---------------------------------------------------------------- cameras

    def create_camera(self, principal: Principal, cmd: CameraCreate) -> CameraView:
        main_url = validate_rtsp_url(cmd.main_url, "main_url")
        sub_url = validate_rtsp_url(cmd.sub_url, "sub_url") if cmd.sub_url else None
        if (cmd.username is None) != (cmd.password is None):
            raise Invalid("credentials_incomplete", extra={"field": "password"})
        now = self.deps.clock.now()
        camera_id = new_id()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            zone = self._require_zone(conn, principal, cmd.zone_id, "registry.edit")
            check_placement(AreaType(zone.area_type), zone.name)
            sealed = None
            if cmd.username is not None and cmd.password is not None:
                sealed = self._seal_credentials(camera_id, cmd.username, cmd.password.get_secret_value())
            conn.execute(
                insert(store.cameras).values(
                    id=camera_id,
                    facility_id=zone.facility_id,
                    zone_id=zone.id,
                    name=cmd.name,
                    main_url=main_url,
                    sub_url=sub_url,
                    credentials=sealed,
                    purposes=[p.value for p in cmd.purposes],
                    legal_basis=cmd.legal_basis,
                    retention_days=cmd.retention_days,
                    signage_posted=cmd.signage_posted,
                    status=CameraStatus.DRAFT.value,
                    created_at=now,
                    updated_at=now,
                )
            )
            uow.audit(
                "camera.create",
                object_type="camera",
                object_id=camera_id,
                scope=zone.facility_id,
                details={
                    "name": cmd.name,
                    "zone_id": zone.id,
                    "purposes": [p.value for p in cmd.purposes],
                    "has_credentials": sealed is not None,
                },
            )
            uow.emit(
                "registry.camera.created", {"id": camera_id, "facility_id": zone.facility_id}, key=camera_id
            )
            uow.commit()
        return self.get_camera(principal, camera_id)

    def _seal_credentials(self, camera_id: str, username: str, password: str) -> bytes:
        payload = json.dumps({"username": username, "password": password}).encode()
        return self.deps.box.seal(payload, _credentials_context(camera_id))

    def active_cameras(self, conn: Connection) -> list[ActiveCamera]:
        """Every camera that must be recording, for the ingest (credentials decrypted)."""
        rows = conn.execute(select(store.cameras).where(C.status == CameraStatus.ACTIVE.value)).all()
        cameras = []
        for row in rows:
            credentials = self.camera_credentials(conn, row.id)
            cameras.append(
                ActiveCamera(
                    row.id, row.facility_id, row.main_url, row.sub_url, row.retention_days or 0, credentials
                )
            )
        return cameras

    def retention_days_by_camera(self, conn: Connection) -> dict[str, int | None]:
        """Each camera's retention (active or not: footage outlives a deactivation)."""
        return {r.id: r.retention_days for r in conn.execute(select(C.id, C.retention_days))}

    def camera_credentials(self, conn: Connection, camera_id: str) -> tuple[str, str] | None:
        """The decrypted credentials, for the ingest only; never exposed through the API."""
        blob = conn.execute(select(C.credentials).where(C.id == camera_id)).scalar()
        if blob is None:
            return None
        data = json.loads(self.deps.box.open(bytes(blob), _credentials_context(camera_id)))
        return data["username"], data["password"]

    def _camera_row(self, conn: Connection, camera_id: str) -> DbRow | None:
        return conn.execute(
            select(store.cameras, N.path.label("facility_path"))
            .select_from(store.cameras.join(store.org_nodes, N.id == C.facility_id))
            .where(C.id == camera_id)
        ).first()

    def _require_camera(
        self, conn: Connection, principal: Principal, camera_id: str, permission: str
    ) -> DbRow:
        row = self._camera_row(conn, camera_id)
        if row is None:
            raise NotFound("not_found", params={"object": "camera"})
        principal.require(
            permission, row.facility_path, object_type="camera", object_id=row.id, node_id=row.facility_id
        )
        return row

    def camera_for(
        self, conn: Connection, principal: Principal, camera_id: str, permission: str
    ) -> CameraAccess:
        """The camera, if ``principal`` holds ``permission`` on its facility (404/403 otherwise).

        Other wings (live view, playback, clips) check access to footage through this one
        door, so the scope rules for cameras live in one place.
        """
        row = self._require_camera(conn, principal, camera_id, permission)
        facts = self._facts(row)
        return CameraAccess(
            row.id,
            row.facility_id,
            row.name,
            row.main_url,
            row.sub_url,
            facts.purposes,
            row.retention_days,
            CameraStatus(row.status),
            row.facility_path,
        )

    @staticmethod
    def _facts(row: DbRow | dict[str, Any]) -> ActivationFacts:
        get = row.get if isinstance(row, dict) else row._mapping.get
        purposes = get("purposes") or []
        if isinstance(purposes, str):
            purposes = json.loads(purposes)
        return ActivationFacts(
            tuple(purposes), get("legal_basis") or "", get("retention_days"), bool(get("signage_posted"))
        )

    def _camera_view(self, row: DbRow) -> CameraView:
        facts = self._facts(row)
        return CameraView(
            id=row.id,
            facility_id=row.facility_id,
            zone_id=row.zone_id,
            name=row.name,
            main_url=row.main_url,
            sub_url=row.sub_url,
            has_credentials=row.credentials is not None,
            purposes=list(facts.purposes),
            legal_basis=facts.legal_basis,
            retention_days=row.retention_days,
            signage_posted=row.signage_posted,
            status=CameraStatus(row.status),
            activation_missing=activation_missing(facts),
        )

    def update_camera(self, principal: Principal, camera_id: str, cmd: CameraUpdate) -> CameraView:
        changes = cmd.model_dump(exclude_unset=True)
        if not changes:
            raise Invalid("nothing_to_change")
        if changes.get("main_url") is not None:
            changes["main_url"] = validate_rtsp_url(changes["main_url"], "main_url")
        elif "main_url" in changes:
            raise Invalid("field_required", params={"field": "main_url"}, extra={"field": "main_url"})
        if changes.get("sub_url"):
            changes["sub_url"] = validate_rtsp_url(changes["sub_url"], "sub_url")
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = self._require_camera(conn, principal, camera_id, "registry.edit")
            values: dict[str, Any] = {k: v for k, v in changes.items() if k != "zone_id"}
            if "purposes" in values:
                values["purposes"] = [str(p) for p in values["purposes"] or []]
            if changes.get("zone_id") and changes["zone_id"] != row.zone_id:
                zone = self._require_zone(conn, principal, changes["zone_id"], "registry.edit")
                if zone.facility_id != row.facility_id:
                    raise Invalid("zone_other_facility", extra={"field": "zone_id"})
                check_placement(AreaType(zone.area_type), zone.name)
                values["zone_id"] = zone.id
            merged = {**dict(row._mapping), **values}
            if row.status == CameraStatus.ACTIVE.value:
                # An active camera must keep everything that allowed it to be activated.
                check_activation(self._facts(merged))
            conn.execute(
                update(store.cameras).where(C.id == row.id).values(**values, updated_at=self.deps.clock.now())
            )
            uow.audit(
                "camera.update",
                object_type="camera",
                object_id=row.id,
                scope=row.facility_id,
                details={"fields": sorted(changes)},
            )
            uow.emit("registry.camera.updated", {"id": row.id, "fields": sorted(changes)}, key=row.id)
            uow.commit()
        return self.get_camera(principal, camera_id)

    def set_camera_credentials(
        self, principal: Principal, camera_id: str, cmd: CameraCredentials | None
    ) -> CameraView:
        with self.deps.uow(principal.actor) as uow:
            row = self._require_camera(uow.conn, principal, camera_id, "registry.edit")
            sealed = (
                self._seal_credentials(row.id, cmd.username, cmd.password.get_secret_value())
                if cmd is not None
                else None
            )
            uow.conn.execute(
                update(store.cameras)
                .where(C.id == row.id)
                .values(credentials=sealed, updated_at=self.deps.clock.now())
            )
            uow.audit(
                "camera.credentials." + ("set" if cmd else "clear"),
                object_type="camera",
                object_id=row.id,
                scope=row.facility_id,
            )
            uow.emit("registry.camera.updated", {"id": row.id, "fields": ["credentials"]}, key=row.id)
            uow.commit()
        return self.get_camera(principal, camera_id)

    def activate_camera(self, principal: Principal, camera_id: str) -> CameraView:
        return self._set_camera_status(principal, camera_id, CameraStatus.ACTIVE)

    def deactivate_camera(self, principal: Principal, camera_id: str) -> CameraView:
        return self._set_camera_status(principal, camera_id, CameraStatus.INACTIVE)

    def _set_camera_status(self, principal: Principal, camera_id: str, status: CameraStatus) -> CameraView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = self._require_camera(conn, principal, camera_id, "registry.edit")
            if status == CameraStatus.ACTIVE:
                zone = self._zone_row(conn, row.zone_id)
                if zone is not None:
                    check_placement(AreaType(zone.area_type), zone.name)
                check_activation(self._facts(row))
            values: dict[str, Any] = {"status": status.value, "updated_at": now}
            if status == CameraStatus.ACTIVE:
                values["activated_at"] = now
            conn.execute(update(store.cameras).where(C.id == row.id).values(**values))
            uow.audit(
                f"camera.{'activate' if status == CameraStatus.ACTIVE else 'deactivate'}",
                object_type="camera",
                object_id=row.id,
                scope=row.facility_id,
                details={"from": row.status, "to": status.value},
            )
            uow.emit(
                "registry.camera.status",
                {"id": row.id, "status": status.value, "facility_id": row.facility_id},
                key=row.id,
            )
            uow.commit()
        return self.get_camera(principal, camera_id)

    def get_camera(self, principal: Principal, camera_id: str) -> CameraView:
        with self.deps.db.read() as conn:
            row = self._camera_row(conn, camera_id)
            if row is None:
                raise NotFound("not_found", params={"object": "camera"})
            principal.require_visible("registry.read", row.facility_path, object_type="camera")
            return self._camera_view(row)

    def list_cameras(self, principal: Principal, facility_id: str | None) -> list[CameraView]:
        with self.deps.db.read() as conn:
            query = (
                select(store.cameras)
                .select_from(store.cameras.join(store.org_nodes, N.id == C.facility_id))
                .where(principal.scope_clause("registry.read", N.path))
                .order_by(C.name)
            )
            if facility_id is not None:
                query = query.where(C.facility_id == facility_id)
            rows = conn.execute(query).all()
        return [self._camera_view(r) for r in rows]

    # ---------------------------------------------------------------- doors

    def _check_door_cameras(self, conn: Connection, facility_id: str, camera_ids: list[str]) -> None:
        if not camera_ids:
            return
        found = set(
            conn.execute(
                select(C.id).where(and_(C.id.in_(camera_ids), C.facility_id == facility_id))
            ).scalars()
        )
        unknown = sorted(set(camera_ids) - found)
        if unknown:
            raise Invalid(
                "door_camera_unknown",
                params={"ids": ", ".join(unknown)},
                extra={"field": "camera_ids", "unknown": unknown},
            )

    def create_door(self, principal: Principal, cmd: DoorCreate) -> DoorView:
        now = self.deps.clock.now()
        door_id = new_id()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            zone = self._require_zone(conn, principal, cmd.zone_id, "registry.edit")
            check_placement(AreaType(zone.area_type), zone.name)
            camera_ids = sorted(set(cmd.camera_ids))
            self._check_door_cameras(conn, zone.facility_id, camera_ids)
            conn.execute(
                insert(store.doors).values(
                    id=door_id,
                    facility_id=zone.facility_id,
                    zone_id=zone.id,
                    name=cmd.name,
                    kind=cmd.kind.value,
                    created_at=now,
                    updated_at=now,
                )
            )
            if camera_ids:
                conn.execute(
                    insert(store.door_cameras), [{"door_id": door_id, "camera_id": c} for c in camera_ids]
                )
            uow.audit(
                "door.create",
                object_type="door",
                object_id=door_id,
                scope=zone.facility_id,
                details={"name": cmd.name, "kind": cmd.kind.value, "camera_ids": camera_ids},
            )
            uow.emit("registry.door.created", {"id": door_id, "facility_id": zone.facility_id}, key=door_id)
            uow.commit()
        return self.get_door(principal, door_id)

    def _door_row(self, conn: Connection, door_id: str) -> DbRow | None:
        return conn.execute(
            select(store.doors, N.path.label("facility_path"))
            .select_from(store.doors.join(store.org_nodes, N.id == D.facility_id))
            .where(D.id == door_id)
        ).first()

    def update_door(self, principal: Principal, door_id: str, cmd: DoorUpdate) -> DoorView:
        changes = cmd.model_dump(exclude_unset=True, exclude_none=True)
        if not changes:
            raise Invalid("nothing_to_change")
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = self._door_row(conn, door_id)
            if row is None:
                raise NotFound("not_found", params={"object": "door"})
            principal.require(
                "registry.edit",
                row.facility_path,
                object_type="door",
                object_id=row.id,
                node_id=row.facility_id,
            )
            values: dict[str, Any] = {}
            if "name" in changes:
                values["name"] = changes["name"]
            if "kind" in changes:
                values["kind"] = str(changes["kind"])
            if values:
                conn.execute(
                    update(store.doors)
                    .where(D.id == row.id)
                    .values(**values, updated_at=self.deps.clock.now())
                )
            if "camera_ids" in changes:
                camera_ids = sorted(set(changes["camera_ids"]))
                self._check_door_cameras(conn, row.facility_id, camera_ids)
                conn.execute(delete(store.door_cameras).where(store.door_cameras.c.door_id == row.id))
                if camera_ids:
                    conn.execute(
                        insert(store.door_cameras), [{"door_id": row.id, "camera_id": c} for c in camera_ids]
                    )
            uow.audit(
                "door.update",
                object_type="door",
                object_id=row.id,
                scope=row.facility_id,
                details={"fields": sorted(changes)},
            )
            uow.commit()
        return self.get_door(principal, door_id)

    def _door_view(self, conn: Connection, row: DbRow) -> DoorView:
        camera_ids = sorted(
            conn.execute(
                select(store.door_cameras.c.camera_id).where(store.door_cameras.c.door_id == row.id)
            ).scalars()
        )
        return DoorView(
            id=row.id,
            facility_id=row.facility_id,
            zone_id=row.zone_id,
            name=row.name,
            kind=row.kind,
            camera_ids=camera_ids,
        )

    def get_door(self, principal: Principal, door_id: str) -> DoorView:
        with self.deps.db.read() as conn:
            row = self._door_row(conn, door_id)
            if row is None:
                raise NotFound("not_found", params={"object": "door"})
            principal.require_visible("registry.read", row.facility_path, object_type="door")
            return self._door_view(conn, row)

    def list_doors(self, principal: Principal, facility_id: str | None) -> list[DoorView]:
        with self.deps.db.read() as conn:
            query = (
                select(store.doors)
                .select_from(store.doors.join(store.org_nodes, N.id == D.facility_id))
                .where(principal.scope_clause("registry.read", N.path))
                .order_by(D.name)
            )
            if facility_id is not None:
                query = query.where(D.facility_id == facility_id)
            rows = conn.execute(query).all()
            return [self._door_view(conn, r) for r in rows]
