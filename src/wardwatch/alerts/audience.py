"""Who a receiver names, resolved at notification time from the registry and the role bindings.

Nothing here keeps a list of people: "the enforcement team with jurisdiction" is whoever
holds ``enforcement_officer`` over the facility's enforcement node right now, plus the
team's address in the facility's contacts. A change of staff takes effect at the next
notification.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from wardwatch.alerts.config import ReceiverSettings
from wardwatch.authz import store as authz_store
from wardwatch.authz.service import AccountService
from wardwatch.registry import store as registry_store
from wardwatch.registry.model import OrgKind
from wardwatch.registry.service import RegistryService

U = authz_store.users.c


@dataclass(frozen=True)
class Place:
    """The node an alert belongs to, with what routing needs of its facility (if it is one)."""

    id: str
    name: str
    path: str
    is_facility: bool
    timezone: str | None
    enforcement_node_id: str | None
    contacts: dict[str, str]
    """Contact kind → e-mail address, where one is on record."""

    @property
    def root_id(self) -> str:
        return self.path.strip("/").split("/")[0]


@dataclass(frozen=True)
class Person:
    user_id: str
    email: str
    locale: str


@dataclass(frozen=True)
class Audience:
    inbox: tuple[tuple[str, tuple[str, ...]], ...]
    """(node, roles) pairs the in-app inbox delivers to."""
    people: tuple[Person, ...]
    contacts: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    """Why the audience is narrower than configured (no enforcement node on record...)."""

    def emails(self, default_locale: str) -> dict[str, list[str]]:
        """Addresses by language: each person in their own, listed contacts in the default."""
        by_locale: dict[str, list[str]] = {}
        seen: set[str] = set()
        for person in self.people:
            if person.email and person.email.lower() not in seen:
                seen.add(person.email.lower())
                by_locale.setdefault(person.locale, []).append(person.email)
        for address in self.contacts:
            if address.lower() not in seen:
                seen.add(address.lower())
                by_locale.setdefault(default_locale, []).append(address)
        return by_locale


def place_of(conn: Connection, registry: RegistryService, node_id: str) -> Place | None:
    """The alert's node and, for a facility, its time zone, contacts and enforcement node."""
    node = registry.node(conn, node_id)
    if node is None:
        return None
    if node.kind != OrgKind.FACILITY:
        return Place(node.id, node.name, node.path, False, None, None, {})
    # The registry's own facility query and view: its table stays the registry's business.
    row = conn.execute(registry._facility_query().where(registry_store.org_nodes.c.id == node_id)).first()
    if row is None:
        return Place(node.id, node.name, node.path, False, None, None, {})
    view = registry._facility_view(row)
    contacts = {
        kind: contact.email
        for kind, contact in (
            ("supervisor", view.contacts.supervisor),
            ("legal_representative", view.contacts.legal_representative),
            ("enforcement_team", view.contacts.enforcement_team),
        )
        if contact.email
    }
    return Place(node.id, node.name, node.path, True, view.timezone, view.enforcement_node_id, contacts)


def resolve(conn: Connection, accounts: AccountService, place: Place, receiver: ReceiverSettings) -> Audience:
    """The people and addresses ``receiver`` names for an alert of ``place``."""
    notes: list[str] = []
    targets: dict[str, list[str]] = {}
    for target in receiver.roles:
        if target.at == "facility":
            node = place.id
        elif target.at == "root":
            node = place.root_id
        else:
            node = place.enforcement_node_id or place.id
            if place.is_facility and place.enforcement_node_id is None:
                notes.append("no_enforcement_node")
        targets.setdefault(node, []).append(target.role)
    user_ids = sorted(
        {
            user
            for node, roles in targets.items()
            for role in roles
            for user in accounts.holders_of_role(conn, node, role)
        }
    )
    people: list[Person] = []
    if user_ids:
        rows = conn.execute(select(U.id, U.email, U.locale).where(U.id.in_(user_ids)).order_by(U.id)).all()
        people = [Person(r.id, r.email or "", r.locale) for r in rows]
    contacts = tuple(place.contacts[kind] for kind in receiver.contacts if kind in place.contacts)
    inbox = (
        tuple((node, tuple(sorted(set(roles)))) for node, roles in targets.items()) if receiver.inbox else ()
    )
    return Audience(inbox, tuple(people), contacts, tuple(notes))
