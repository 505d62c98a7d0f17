"""Creating and opening a WardWatch instance (data directory, keys, schema, first admin)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from wardwatch.authz import store as authz_store
from wardwatch.authz.model import password_problems
from wardwatch.bootstrap import Container, build_container, load_keys
from wardwatch.kernel import migrate
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.clock import Clock
from wardwatch.kernel.config import Settings
from wardwatch.kernel.db import Database
from wardwatch.kernel.errors import ConfigError, Conflict, Invalid
from wardwatch.registry.model import OrgKind


@dataclass(frozen=True)
class InitResult:
    root_id: str
    admin_id: str
    checkpoint_size: int


def is_initialized(db: Database) -> bool:
    if migrate.current_revision(db) is None:
        return False
    with db.read() as conn:
        return conn.execute(select(authz_store.users.c.id).limit(1)).first() is not None


def init_instance(
    settings: Settings,
    *,
    admin_username: str,
    admin_password: str,
    org_name: str,
    clock: Clock | None = None,
) -> InitResult:
    """Make the data directory, keys and schema; create the root node and its administrator."""
    problems = password_problems(admin_password, admin_username, settings.auth.password_min_length)
    if problems:
        # Refuse before anything is created, so a bad password leaves no half-made instance.
        raise Invalid(
            "password_weak",
            params={"min": settings.auth.password_min_length},
            extra={"field": "password", "reasons": problems},
        )
    settings.data.mkdir(parents=True, exist_ok=True)
    load_keys(settings, create=True)
    db = Database(settings.effective_database_url)
    try:
        migrate.upgrade(db)
        if is_initialized(db):
            raise Conflict("already_initialized", params={"data": str(settings.data)})
        container = build_container(settings, clock=clock, db=db)
        root_id, admin_id = create_first_records(container, admin_username, admin_password, org_name)
        checkpoint = container.audit.sign_checkpoint(db)
        return InitResult(root_id, admin_id, checkpoint.size)
    finally:
        db.dispose()


def create_first_records(
    container: Container, admin_username: str, admin_password: str, org_name: str
) -> tuple[str, str]:
    """The authenticated empty log, the root node and its administrator, audited together."""
    with container.deps.uow(system_actor("init")) as uow:
        container.audit.initialize(uow.conn)
        root = container.registry.create_root(uow.conn, OrgKind.MINISTRY, org_name)
        admin_id = container.accounts.create_account(
            uow.conn,
            username=admin_username,
            display_name=admin_username,
            password=admin_password,
            home_node_id=root.id,
            role="administrator",
        )
        uow.audit(
            "system.init",
            object_type="org_node",
            object_id=root.id,
            scope=root.id,
            details={"org_name": org_name, "schema": migrate.head_revision(container.db)},
        )
        uow.audit(
            "account.create",
            object_type="user",
            object_id=admin_id,
            scope=root.id,
            details={"username": admin_username, "role": "administrator"},
        )
        uow.commit()
    return root.id, admin_id


def migrate_instance(settings: Settings) -> tuple[str | None, str | None]:
    """Upgrade the schema; on an initialised instance the upgrade goes on the audit record."""
    db = Database(settings.effective_database_url)
    try:
        before = migrate.current_revision(db)
        migrate.upgrade(db)
        after = migrate.current_revision(db)
        if before != after and before is not None and is_initialized(db):
            container = build_container(settings, db=db)
            with container.deps.uow(system_actor("migrate")) as uow:
                uow.audit(
                    "system.migrate",
                    object_type="schema",
                    object_id=after or "",
                    details={"from": before, "to": after},
                )
                uow.commit()
        return before, after
    finally:
        db.dispose()


def open_instance(settings: Settings, *, clock: Clock | None = None) -> Container:
    """The container of an initialised instance whose schema is current."""
    if not settings.data.exists():
        raise ConfigError(f"{settings.data}: data directory missing; run 'wardwatch init' first")
    db = Database(settings.effective_database_url)
    current, head = migrate.current_revision(db), migrate.head_revision(db)
    if current is None:
        db.dispose()
        raise ConfigError("database has no WardWatch schema; run 'wardwatch init' first")
    if current != head:
        db.dispose()
        raise ConfigError(f"database schema {current} is not {head}; run 'wardwatch migrate'")
    return build_container(settings, clock=clock, db=db)
