"""The facilities the duty wing reasons about, found through the registry's own services.

Coverage is per facility, in the facility's time zone. This wing never reads the
registry's tables: it asks ``RegistryService`` for the facilities a caller may read, and
for the periodic check, for every facility under each root (through a principal that
holds ``org.read`` at the roots and nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from wardwatch.authz.model import Binding, Grants, RoleCatalog
from wardwatch.authz.principal import Principal
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.db import Database
from wardwatch.registry.service import RegistryService


@dataclass(frozen=True)
class FacilityRef:
    id: str
    name: str
    path: str
    timezone: str

    def local(self, moment: datetime) -> str:
        """``moment`` on the facility's wall clock, with its offset (ISO 8601, to the minute)."""
        return moment.astimezone(ZoneInfo(self.timezone)).isoformat(timespec="minutes")


class Directory:
    def __init__(self, db: Database, registry: RegistryService) -> None:
        self.db = db
        self.registry = registry

    def facilities(self, principal: Principal) -> list[FacilityRef]:
        """Every facility ``principal`` may read in the org tree, with its path and time zone."""
        views = self.registry.list_facilities(principal)
        with self.db.read() as conn:
            paths = self.registry.paths_of(conn, [v.id for v in views])
        return sorted(
            (FacilityRef(v.id, v.name, paths[v.id], v.timezone) for v in views if v.id in paths),
            key=lambda f: (f.name, f.id),
        )

    def all_facilities(self) -> list[FacilityRef]:
        """Every facility of every tree, for background work that acts for no one."""
        with self.db.read() as conn:
            roots = self.registry.roots(conn)
        if not roots:
            return []
        bindings = [
            Binding(f"duty-directory:{root.id}", "", root.id, root.path, "allow", permission="org.read")
            for root in roots
        ]
        reader = Principal(
            actor=system_actor("duty-coverage"),
            user_id="",
            username="",
            kind="person",
            grants=Grants(bindings, RoleCatalog()),
            locale="en",
            via="system",
        )
        return self.facilities(reader)
