"""The integrations that carry notifications out: apprise URLs (e-mail, webhooks, chat) and MQTT.

Each send returns an outcome instead of raising, with an error text fit to store and show:
secrets in the target (a password, a token in the path or query) are masked in it, and
so is the target itself wherever it is stored (``redact_url``). Apprise reports failures
only through its logger, so its records are captured per sending thread and kept out of
the application log (WardWatch logs its own line, with the redacted target).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import apprise
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from wardwatch.alerts.config import MqttSettings
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.logging import redact

log = logging.getLogger(__name__)

MASK = "****"
_SAFE_QUERY = frozenset({"from", "mode", "smtp", "method", "format", "name", "overflow", "to"})
_TOKENISH = re.compile(r"^[A-Za-z0-9_\-]{12,}$")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str | None
    duration_ms: int


def redact_url(url: str) -> str:
    """A URL as it may be shown: no password, no token-like path segment, no unknown query value."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"{url.split(':', 1)[0]}://{MASK}"
    user = ""
    if parts.username:
        user = f"{parts.username}:{MASK}@" if parts.password else f"{parts.username}@"
    elif parts.password:
        user = f"{MASK}@"
    path = "/".join(MASK if _TOKENISH.match(seg) else seg for seg in parts.path.split("/"))
    query = "&".join(
        f"{key}={value if key.lower() in _SAFE_QUERY else MASK}"
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, f"{user}{host}{port}", path, query, ""))


def _secrets_of(url: str) -> list[str]:
    """The parts of a URL that must not appear in a stored error text."""
    found = [url]
    try:
        parts = urlsplit(url)
    except ValueError:
        return found
    if parts.password:
        found.append(parts.password)
    found.extend(seg for seg in parts.path.split("/") if _TOKENISH.match(seg))
    found.extend(v for k, v in parse_qsl(parts.query) if k.lower() not in _SAFE_QUERY and len(v) >= 4)
    return sorted(set(found), key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    for secret in _secrets_of(url):
        text = text.replace(secret, MASK)
    return redact(text)[:2000]


class _ThreadCapture(logging.Handler):
    """Collects apprise's log records for the threads that asked, one buffer per thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._buffers: dict[int, list[str]] = {}
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            buffer = self._buffers.get(threading.get_ident())
        if buffer is not None and record.levelno >= logging.WARNING:
            buffer.append(record.getMessage())

    @contextmanager
    def capture(self) -> Iterator[list[str]]:
        buffer: list[str] = []
        with self._lock:
            self._buffers[threading.get_ident()] = buffer
        try:
            yield buffer
        finally:
            with self._lock:
                self._buffers.pop(threading.get_ident(), None)


_capture = _ThreadCapture()
_apprise_log = logging.getLogger("apprise")
_apprise_log.addHandler(_capture)
_apprise_log.setLevel(logging.WARNING)
# Apprise may name its targets in full; only the redacted form goes to our logs.
_apprise_log.propagate = False
# At DEBUG, urllib3 (under apprise's HTTP plugins) logs each request line, and a webhook's
# secret is often its path: keep that logger at INFO whatever the application's level.
logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)


def with_timeouts(url: str, timeout_s: float) -> str:
    """Add apprise's connect and read timeouts unless the URL sets its own."""
    parts = urlsplit(url)
    present = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    # Appended as text: re-encoding the query would mangle apprise's +header and -param keys.
    extra = "&".join(f"{key}={timeout_s:g}" for key in ("cto", "rto") if key not in present)
    if not extra:
        return url
    base, hash_mark, fragment = url.partition("#")
    return f"{base}{'&' if parts.query else '?'}{extra}{hash_mark}{fragment}"


def mail_url(smtp_url: str, recipients: list[str]) -> str:
    """The SMTP URL with its recipients (apprise sends each one a message of their own)."""
    parts = urlsplit(smtp_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "to"]
    query.append(("to", ",".join(recipients)))
    encoded = "&".join(f"{k}={quote(v, safe=',@:')}" for k, v in query)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, encoded, parts.fragment))


def check_apprise_url(url: str) -> str | None:
    """Why apprise cannot use this URL, or None; the answer never quotes the URL."""
    try:
        instance = apprise.Apprise.instantiate(url)
    except Exception as exc:  # apprise raises several kinds on a bad URL
        return type(exc).__name__
    return None if instance else "unsupported or malformed URL"


class Senders:
    """Sends one message through one integration, within a time limit."""

    def __init__(self, timeout_s: float, mqtt_settings: MqttSettings) -> None:
        self.timeout_s = timeout_s
        self.mqtt_settings = mqtt_settings

    def apprise(self, url: str, title: str, body: str) -> Outcome:
        started = time.monotonic()
        try:
            instance = apprise.Apprise.instantiate(with_timeouts(url, self.timeout_s))
            if not instance:
                return Outcome(False, "unsupported or malformed URL", _ms(started))
            with _capture.capture() as messages:
                sent = bool(instance.notify(title=title, body=body))
        except Exception as exc:  # a plugin that raises is a failed delivery, not a crash
            return Outcome(False, scrub(f"{type(exc).__name__}: {exc}", url), _ms(started))
        if sent:
            return Outcome(True, None, _ms(started))
        reason = "; ".join(messages) or "the service refused the notification"
        return Outcome(False, scrub(reason, url), _ms(started))

    def mqtt(self, topic: str, message: dict[str, Any]) -> Outcome:
        settings = self.mqtt_settings
        started = time.monotonic()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"wardwatch-alerts-{new_id()}")
        client.connect_timeout = self.timeout_s
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else None
            client.username_pw_set(settings.username, password)
        if settings.tls:
            client.tls_set()
        connected = threading.Event()
        refused: list[str] = []

        def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if reason.is_failure:
                refused.append(str(reason))
            connected.set()

        client.on_connect = on_connect
        try:
            client.connect(settings.host, settings.port, keepalive=30)
            client.loop_start()
            try:
                if not connected.wait(self.timeout_s):
                    return Outcome(False, "the MQTT broker did not answer the connection", _ms(started))
                if refused:
                    return Outcome(
                        False, f"the MQTT broker refused the connection: {refused[0]}", _ms(started)
                    )
                body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
                info = client.publish(topic, body, qos=settings.qos)
                info.wait_for_publish(self.timeout_s)
                if not info.is_published():
                    return Outcome(
                        False, f"the MQTT broker did not confirm the message (rc {info.rc})", _ms(started)
                    )
            finally:
                client.disconnect()
                client.loop_stop()
        except (OSError, ValueError, RuntimeError) as exc:
            return Outcome(False, redact(f"MQTT {settings.host}:{settings.port}: {exc}"), _ms(started))
        return Outcome(True, None, _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
