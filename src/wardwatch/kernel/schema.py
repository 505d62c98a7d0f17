"""Imports every wing's tables so the shared metadata describes the whole schema."""

from __future__ import annotations

from wardwatch.access import store as access_store
from wardwatch.alerts import store as alerts_store
from wardwatch.audit import store as audit_store
from wardwatch.authz import store as authz_store
from wardwatch.duty import store as duty_store
from wardwatch.health import store as health_store
from wardwatch.kernel import outbox
from wardwatch.kernel.db import metadata
from wardwatch.media import store as media_store
from wardwatch.registry import store as registry_store

STORES = (
    outbox,
    audit_store,
    authz_store,
    registry_store,
    media_store,
    health_store,
    alerts_store,
    duty_store,
    access_store,
)

__all__ = ["STORES", "metadata"]
