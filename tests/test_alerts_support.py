"""Shared pieces of the alert tests: a real SMTP server, a real webhook receiver, signals.

(No tests here; the name keeps it with the alerts wing's test files.)
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from support import World, build_world
from wardwatch.alerts import store as alerts_store
from wardwatch.alerts.inbox import NoticeKind
from wardwatch.alerts.model import AlertSignal, Severity
from wardwatch.alerts.service import FireResult
from wardwatch.kernel.actor import system_actor

TITLES = {"vi": "Thiếu bác sĩ gây mê", "zh-Hans": "麻醉医生不足", "en": "Too few anaesthetists"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


class _MailHandler:
    def __init__(self, box: list[Mail]) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.box.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[int, list[Mail]]]:
    """A real SMTP server (aiosmtpd) on a free local port; yields its port and its mailbox."""
    box: list[Mail] = []
    port = free_port()
    controller = Controller(_MailHandler(box), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


@dataclass
class Webhook:
    """A real HTTP receiver: every POST is kept; paths under /fail answer 500 while ``broken``."""

    port: int
    posts: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    broken: bool = True

    def url(self, path: str, *, secure: bool = False, credentials: str = "") -> str:
        scheme = "jsons" if secure else "json"
        auth = f"{credentials}@" if credentials else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[dict[str, Any]]:
        return [body for p, _, body in self.posts if p.startswith(path)]


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    hook = Webhook(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            hook.posts.append((self.path, dict(self.headers), body))
            self.send_response(500 if hook.broken and self.path.startswith("/fail") else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


def alert_world(
    data: Path, database_url: str, now: datetime, alerts: dict[str, Any] | None = None, **overrides: Any
) -> World:
    """The test world with the people the default route tree names, with e-mail addresses.

    Facility A's enforcement node is district A, so ``enf_a`` (bound there) is its
    enforcement team; ``enf_b`` (district B) is not.
    """
    settings: dict[str, Any] = {"dispatch": False, **(alerts or {})}
    world = build_world(
        data, database_url, now, alerts=settings, auth={"mfa_required_roles": []}, **overrides
    )
    people = [
        ("sup_a", "facility_supervisor", "fac_a", "vi"),
        ("legal_a", "legal_representative", "fac_a", "en"),
        ("enf_a", "enforcement_officer", "dist_a", "zh-Hans"),
        ("op_a", "duty_operator", "fac_a", "en"),
        ("prov_sup_a", "supervisor", "prov_a", "en"),
        ("sup_b", "facility_supervisor", "fac_b", "en"),
        ("legal_b", "legal_representative", "fac_b", "en"),
        ("enf_b", "enforcement_officer", "dist_b", "en"),
        ("op_b", "duty_operator", "fac_b", "en"),
    ]
    for username, role, node, locale in people:
        with world.container.deps.uow(system_actor("test")) as uow:
            user_id = world.container.accounts.create_account(
                uow.conn,
                username=username,
                display_name=username,
                password="Test-password-2026",
                home_node_id=world.ids[node],
                role=role,
                email=f"{username.replace('_', '.')}@example.org",
                locale=locale,
            )
            uow.audit("account.create", object_type="user", object_id=user_id, scope=world.ids[node])
            uow.commit()
        world.users[username] = user_id
    with world.client("admin") as admin:
        for key in ("fac_a", "fac_b"):
            side = key[-1]
            response = admin.patch(
                f"/api/v1/facilities/{world.ids[key]}",
                json={
                    "contacts": {
                        "supervisor": {"name": "S", "email": f"supervisor.desk.{side}@example.org"},
                        "legal_representative": {"name": "L", "email": f"legal.office.{side}@example.org"},
                        "enforcement_team": {"name": "E", "email": f"enforcement.team.{side}@example.org"},
                    }
                },
            )
            assert response.status_code == 200, response.text
    return world


def signal(
    world: World,
    facility: str = "fac_a",
    *,
    rule: str = "R3",
    severity: Severity = Severity.YELLOW,
    labels: dict[str, str] | None = None,
    at: datetime | None = None,
    measures: dict[str, float | int] | None = None,
    events: list[str] | None = None,
    version: str = "1.0.0",
    titles: dict[str, str] | None = None,
) -> AlertSignal:
    return AlertSignal(
        source="rule",
        rule_id=rule,
        rule_version=version,
        rule_hash=f"sha256:{rule}{version}",
        severity=severity,
        facility_id=world.ids[facility],
        labels=labels if labels is not None else {"day": "2026-12-01"},
        starts_at=at or world.clock.now() - timedelta(minutes=5),
        measures=measures if measures is not None else {"ga_operations": 3, "anaesthetist_entries": 1},
        event_ids=events if events is not None else ["EV1", "EV2"],
        titles=titles or {k: f"{v} ({rule})" for k, v in TITLES.items()},
    )


def fire(world: World, sig: AlertSignal) -> FireResult:
    """Fire inside a unit of work of its own, as the rule engine will (with its own audit entry)."""
    with world.container.deps.uow(system_actor("rules")) as uow:
        result = world.container.alerts.fire(uow, sig)
        uow.audit("rules.evaluate", object_type="rule", object_id=sig.rule_id, scope=sig.facility_id)
        uow.commit()
    return result


def resolve(world: World, fp: str, at: datetime | None = None) -> bool:
    with world.container.deps.uow(system_actor("rules")) as uow:
        done = world.container.alerts.resolve(uow, fp, at or world.clock.now())
        uow.audit("rules.evaluate", object_type="rule", object_id="resolve")
        uow.commit()
    return done


def advance(world: World, seconds: float) -> Any:
    """Move the clock and run one dispatcher tick."""
    world.clock.advance(timedelta(seconds=seconds))
    return world.container.alert_dispatcher.tick()


def notices(world: World, username: str) -> list[Any]:
    """The inbox rows of one user, oldest first."""
    c = alerts_store.inbox.c
    with world.container.db.read() as conn:
        return list(
            conn.execute(
                select(alerts_store.inbox)
                .where(c.user_id == world.users[username])
                .order_by(c.created_at, c.id)
            ).all()
        )


def alert_notices(world: World, username: str) -> list[Any]:
    kinds = {k.value for k in NoticeKind if k.value.startswith("alert_")}
    return [n for n in notices(world, username) if n.kind in kinds]


def deliveries(world: World) -> list[Any]:
    d = alerts_store.alert_deliveries.c
    with world.container.db.read() as conn:
        return list(conn.execute(select(alerts_store.alert_deliveries).order_by(d.created_at, d.id)).all())


def receivers(**changes: dict[str, Any]) -> dict[str, Any]:
    """The default receivers with some changed (a YAML ``receivers`` replaces them whole)."""
    from wardwatch.alerts.config import DEFAULT_RECEIVERS

    found: dict[str, Any] = {}
    for name, receiver in DEFAULT_RECEIVERS.items():
        found[name] = {**receiver.model_dump(), "apprise": []}
    for name, change in changes.items():
        found[name] = {**found.get(name, {}), **change}
    return found
