"""Door events over MQTT: the server's subscriber, its trust model, and being loud when down.

Terminals publish on ``<topic_prefix>/<facility id>/doors/<door id>/events`` (QoS 1), one
event object or a list of them, with the same fields as over HTTP; ``terminal`` (the
device's serial number) is required in every event.

**Trust.** The broker in tests and the default set-up admits anonymous clients, so a
message proves nothing about its sender. WardWatch accepts an event only if the serial
number names a registered, active terminal, that terminal is bound to the topic's door,
and the door belongs to the topic's facility; anything else is refused and recorded. That
stops misrouted and stale devices, not a forger who knows a terminal's serial number and
door: in production the broker must authenticate each terminal (per-device username or
client certificate) and an ACL must let it write only its own doors' topics, e.g.
``pattern write wardwatch/+/doors/+/events`` scoped per user. HTTP with the terminal's
bearer token is the authenticated path.

Refusals are published back on ``<topic>/refused`` so a terminal can see them. The
subscriber runs in the server: paho's network thread hands each message to the door-event
intake (``access.intake``), whose one worker stores whatever arrived since its last turn,
HTTP batches included, in one transaction (at a thousand events a second, commits rather
than events are the cost). It reconnects with backoff, and is
loud when the broker is unreachable: an error in the log, ``access.mqtt.down`` on the bus,
an audit entry and a notice to the administrators, once per outage; and
``wardwatch_access_mqtt_connected`` reads 0.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from wardwatch.access import places
from wardwatch.access.directory import DoorDirectory
from wardwatch.access.events import Delivery, DoorEvents
from wardwatch.access.intake import DoorEventIntake, Job, Outcome
from wardwatch.access.schemas import IngestResult
from wardwatch.access.terminals import TerminalRef, Terminals
from wardwatch.alerts.inbox import Inbox, NoticeKind
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Invalid
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

ERROR_LOG_INTERVAL_S = 60.0
"""While the broker stays unreachable, the error is logged again at most this often."""


def topic_filter(prefix: str) -> str:
    return f"{prefix}/+/doors/+/events"


def parse_topic(prefix: str, topic: str) -> tuple[str, str] | None:
    """(facility id, door id) of an events topic, or None for any other topic."""
    if not topic.startswith(prefix + "/"):
        return None
    parts = topic[len(prefix) + 1 :].split("/")
    if len(parts) != 4 or parts[1] != "doors" or parts[3] != "events" or not parts[0] or not parts[2]:
        return None
    return parts[0], parts[2]


class MqttIngest:
    def __init__(
        self,
        deps: Deps,
        events: DoorEvents,
        intake: DoorEventIntake,
        directory: DoorDirectory,
        terminals: Terminals,
        registry: RegistryService,
        inbox: Inbox | None,
    ) -> None:
        self.deps = deps
        self.events = events
        self.intake = intake
        self.directory = directory
        self.terminals = terminals
        self.registry = registry
        self.inbox = inbox
        self.settings = deps.settings.access.mqtt
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()
        self._state = "stopped"  # stopped, connecting, up, down
        self._last_error_log = 0.0
        self.messages = 0
        self.failures = 0
        """Connection attempts that failed or connections lost, since start."""

    @property
    def connected(self) -> bool:
        return self._state == "up"

    @property
    def state(self) -> str:
        return self._state

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self._client is not None:
            return
        settings = self.settings
        persistent = bool(settings.client_id)
        # Without a configured id every start is a new, clean session: two servers (or two
        # test instances in one process) must never share an id, or the broker drops one.
        client_id = (
            settings.client_id or f"wardwatch-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        )
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=not persistent,
            protocol=mqtt.MQTTv311,
        )
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else None
            client.username_pw_set(settings.username, password)
        if settings.tls:
            client.tls_set()
        client.reconnect_delay_set(
            min_delay=max(1, int(settings.reconnect_min_s)), max_delay=max(1, int(settings.reconnect_max_s))
        )
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._state = "connecting"
        self._client = client
        self.intake.start()  # the worker that stores what arrives (started once, shared with HTTP)
        client.connect_async(settings.host, settings.port, keepalive=settings.keepalive_s)
        client.loop_start()
        log.info(
            "subscribing to door events over MQTT",
            extra={
                "host": settings.host,
                "port": settings.port,
                "topic": topic_filter(settings.topic_prefix),
            },
        )

    def stop(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        self._state = "stopped"
        try:
            client.disconnect()
        finally:
            # What arrived before the disconnect is in the intake's queue, stored when it stops.
            client.loop_stop()

    # ---------------------------------------------------------------- paho callbacks

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self._down(f"refused by the broker: {reason}")
            return
        client.subscribe(topic_filter(self.settings.topic_prefix), qos=1)
        was = self._state
        self._state = "up"
        if was == "down":
            log.info("MQTT broker reachable again; door events flow", extra={"host": self.settings.host})
            self._announce("access.mqtt.up", "access.mqtt.up", {})
        else:
            log.info("connected to the MQTT broker", extra={"host": self.settings.host})

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        self._down("unreachable")

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if self._state == "stopped":
            return
        self._down(f"connection lost: {reason}")

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        # paho's network thread only hands the message to the intake, whose worker stores
        # what arrived since its last turn (HTTP batches included) in one transaction, so a
        # slow commit never holds up the broker's acknowledgements. Stamped here: the time a
        # message waits for its turn is part of its way to an alert, and ``received_at``
        # must show it.
        self.messages += 1
        topic, payload = message.topic, bytes(message.payload)
        self.intake.put(
            Job(partial(self._prepare, topic, payload, self.deps.clock.now()), partial(self._answer, topic))
        )

    def _prepare(self, topic: str, payload: bytes, received_at: datetime) -> Delivery | None:
        """On the intake's worker: the message as its terminal's, or None once refused whole."""
        found = self._read(topic, payload)
        if found is None:
            return None
        door_id, serial, items = found
        terminal = self.directory.terminals_by_serial([serial]).get(serial.lower())
        doors = self.directory.doors([door_id])
        return self._attributed(topic, payload, door_id, terminal, doors, items, received_at)

    def _answer(self, topic: str, outcome: Outcome) -> None:
        """Refused events are published back on the topic's ``/refused`` for the terminal."""
        client = self._client
        if client is not None and isinstance(outcome, IngestResult) and outcome.refused:
            body = {"refused": [r.model_dump() for r in outcome.refused]}
            client.publish(f"{topic}/refused", json.dumps(body, ensure_ascii=False), qos=0)

    def _read(self, topic: str, payload: bytes) -> tuple[str, str, list[Any]] | None:
        """(door id, terminal serial, events) of a message, or None once it was refused whole."""
        where = parse_topic(self.settings.topic_prefix, topic)
        if where is None:
            self.events.refuse_whole(None, "mqtt", topic, "topic_unknown", payload)
            return None
        _facility_id, door_id = where
        try:
            items, _ = self.events.items_of(payload)
        except Invalid as problem:
            self.events.refuse_whole(self._only_terminal_of(door_id), "mqtt", topic, problem.code, payload)
            return None
        serials = {item.get("terminal") for item in items if isinstance(item, dict)}
        serial = next(iter(serials)) if len(serials) == 1 else None
        if not isinstance(serial, str) or not serial:
            self.events.refuse_whole(
                self._only_terminal_of(door_id), "mqtt", topic, "terminal_required", payload
            )
            return None
        return door_id, serial, items

    def _attributed(
        self,
        topic: str,
        payload: bytes,
        door_id: str,
        terminal: TerminalRef | None,
        doors: dict[str, places.Door],
        items: list[Any],
        received_at: datetime | None,
    ) -> Delivery | None:
        """The message as its terminal's, or None once it was refused whole."""
        where = parse_topic(self.settings.topic_prefix, topic)
        assert where is not None
        door = doors.get(door_id)
        if terminal is None:
            self.events.refuse_whole(None, "mqtt", topic, "terminal_unknown", payload)
            return None
        if terminal.status.value != "active":
            self.events.refuse_whole(terminal, "mqtt", topic, "terminal_disabled", payload)
            return None
        if door is None or door.facility_id != where[0] or door_id not in terminal.door_ids:
            self.events.refuse_whole(terminal, "mqtt", topic, "door_not_bound", payload)
            return None
        return Delivery(terminal, items, "mqtt", topic, door_id, received_at)

    def _only_terminal_of(self, door_id: str) -> TerminalRef | None:
        """A message that names no terminal is counted against the door's terminal if it has one."""
        with self.deps.db.read() as conn:
            on_door = self.terminals.on_door(conn, door_id)
        return on_door[0] if len(on_door) == 1 else None

    # ---------------------------------------------------------------- loudness

    def _down(self, reason: str) -> None:
        with self._lock:
            self.failures += 1
            was, self._state = self._state, "down"
            now = time.monotonic()
            first = was != "down"
            if not first and now - self._last_error_log < ERROR_LOG_INTERVAL_S:
                return
            self._last_error_log = now
        log.error(
            "MQTT broker unreachable: door events sent over MQTT are not being received",
            extra={"host": self.settings.host, "port": self.settings.port, "reason": reason},
        )
        if first:
            self._announce("access.mqtt.down", "access.mqtt.down", {"reason": reason}, notify=True)

    def _announce(self, event: str, action: str, details: dict[str, Any], *, notify: bool = False) -> None:
        payload = {"host": self.settings.host, "port": self.settings.port, **details}
        try:
            with self.deps.uow(system_actor("mqtt")) as uow:
                uow.audit(
                    action,
                    object_type="mqtt_broker",
                    object_id=f"{self.settings.host}:{self.settings.port}",
                    details=payload,
                )
                uow.emit(event, payload, key="mqtt")
                if notify and self.inbox is not None:
                    for root in self.registry.roots(uow.conn):
                        self.inbox.deliver(
                            uow,
                            node_id=root.id,
                            roles=["administrator"],
                            kind=NoticeKind.MQTT_UNREACHABLE,
                            params={"broker": f"{self.settings.host}:{self.settings.port}"},
                            ref_type="mqtt_broker",
                            ref_id=f"{self.settings.host}:{self.settings.port}",
                            severity="red",
                        )
                uow.commit()
        except Exception:
            log.exception("could not record the MQTT broker's state")


class MqttCollector(Collector):
    """``wardwatch_access_mqtt_connected``: 1 while door events can arrive over MQTT."""

    def __init__(self, ingest: MqttIngest) -> None:
        self.ingest = ingest

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.ingest.state == "stopped":
            return
        yield GaugeMetricFamily(
            "wardwatch_access_mqtt_connected",
            "Whether the door-event MQTT subscriber is connected to its broker.",
            value=1 if self.ingest.connected else 0,
        )
