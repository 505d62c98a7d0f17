"""The event bus seam: plain serialisable events, at-least-once delivery, idempotent consumers.

Producers never publish directly: a unit of work writes its events to the outbox in the
same transaction as the change (see ``kernel.outbox``), and the relay hands committed
events to the bus. The in-process bus below is the embedded default; a JetStream bus can
replace it behind the same ``EventBus`` protocol because events are JSON records with a
stable id that consumers use to drop duplicates.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from wardwatch.kernel.ids import new_id

log = logging.getLogger(__name__)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Event:
    """A fact that happened, as a JSON-serialisable record."""

    type: str
    payload: dict[str, Any]
    key: str = ""
    id: str = field(default_factory=new_id)
    occurred_at: str = field(default_factory=_now_iso)
    source: str = "wardwatch"

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "type": self.type,
                "key": self.key,
                "occurred_at": self.occurred_at,
                "source": self.source,
                "payload": self.payload,
            },
            separators=(",", ":"),
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        data = json.loads(text)
        return cls(
            type=data["type"],
            payload=data["payload"],
            key=data.get("key", ""),
            id=data["id"],
            occurred_at=data["occurred_at"],
            source=data.get("source", "wardwatch"),
        )


Handler = Callable[[Event], None]
BatchHandler = Callable[[Sequence[Event]], None]


class EventBus(Protocol):
    """What producers' relays and consumers rely on, whatever carries the events."""

    def publish(self, events: Sequence[Event]) -> None: ...

    def subscribe(self, consumer: str, handler: Handler, types: Collection[str] | None = None) -> None: ...

    def subscribe_batches(
        self,
        consumer: str,
        handler: Handler,
        batch_handler: BatchHandler,
        types: Collection[str] | None = None,
        *,
        max_batch: int = 500,
    ) -> None:
        """Like ``subscribe``, but what queued up meanwhile is handed over together (in order)."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def drain(self, timeout: float = 5.0) -> bool: ...


def matches(event_type: str, patterns: Collection[str] | None) -> bool:
    """``None`` matches all; ``registry.*`` matches a prefix; anything else matches exactly."""
    if patterns is None:
        return True
    for pattern in patterns:
        if pattern.endswith(".*"):
            if event_type.startswith(pattern[:-1]):
                return True
        elif pattern == event_type:
            return True
    return False


@dataclass
class _Subscription:
    consumer: str
    handler: Handler
    types: Collection[str] | None
    batch_handler: BatchHandler | None = None
    max_batch: int = 1
    inbox: queue.Queue[Event | None] = field(default_factory=queue.Queue)
    thread: threading.Thread | None = None
    busy: threading.Event = field(default_factory=threading.Event)


T = TypeVar("T")


def take_batch(inbox: queue.Queue[T | None], first: T, limit: int) -> tuple[list[T], bool]:
    """``first`` and whatever else is already queued behind it, up to ``limit`` items.

    The second value says the stop marker (``None``) was met and taken: the worker must
    finish this batch and then end. Nothing waits: a batch is what queued up meanwhile.
    """
    batch = [first]
    while len(batch) < limit:
        try:
            more = inbox.get_nowait()
        except queue.Empty:
            break
        if more is None:
            return batch, True
        batch.append(more)
    return batch, False


class InProcessBus:
    """Delivers each event to every matching consumer on that consumer's own thread.

    A handler that raises is retried with exponential backoff; after ``max_attempts`` the
    event is dead-lettered and logged at ERROR, and ``on_dead_letter`` is told so the
    failure becomes visible (never a silent drop).
    """

    def __init__(
        self,
        *,
        max_attempts: int = 6,
        base_delay_s: float = 0.05,
        on_dead_letter: Callable[[str, Event, BaseException], None] | None = None,
    ) -> None:
        self._subs: list[_Subscription] = []
        self._lock = threading.Lock()
        self._running = False
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.on_dead_letter = on_dead_letter
        self.dead_letters: list[tuple[str, Event, str]] = []

    def subscribe(self, consumer: str, handler: Handler, types: Collection[str] | None = None) -> None:
        self._add(_Subscription(consumer, handler, types))

    def subscribe_batches(
        self,
        consumer: str,
        handler: Handler,
        batch_handler: BatchHandler,
        types: Collection[str] | None = None,
        *,
        max_batch: int = 500,
    ) -> None:
        """A consumer whose events queued behind a slow one are handed over in one call.

        The rule engine stores the alerts a burst of events raises in one transaction: one
        event at a time, a burst of alerts queued every later event behind a write each.
        If ``batch_handler`` raises, the batch's events go one by one to ``handler``, with
        the usual retries and dead letters, so a consumer must drop what it already took.
        """
        self._add(_Subscription(consumer, handler, types, batch_handler, max(1, max_batch)))

    def _add(self, sub: _Subscription) -> None:
        consumer = sub.consumer
        with self._lock:
            if any(s.consumer == consumer for s in self._subs):
                raise ValueError(f"consumer {consumer!r} already subscribed")
            self._subs.append(sub)
            if self._running:
                self._start_one(sub)

    def publish(self, events: Sequence[Event]) -> None:
        with self._lock:
            subs = list(self._subs)
        for event in events:
            for sub in subs:
                if matches(event.type, sub.types):
                    sub.inbox.put(event)

    def start(self) -> None:
        with self._lock:
            if self._running:
                return
            self._running = True
            for sub in self._subs:
                self._start_one(sub)

    def stop(self) -> None:
        with self._lock:
            self._running = False
            subs = list(self._subs)
        for sub in subs:
            sub.inbox.put(None)
        for sub in subs:
            if sub.thread is not None:
                sub.thread.join(timeout=5)
                sub.thread = None

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event was handled (or dead-lettered)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                subs = list(self._subs)
            if all(s.inbox.unfinished_tasks == 0 for s in subs):
                return True
            time.sleep(0.005)
        return False

    def _start_one(self, sub: _Subscription) -> None:
        sub.thread = threading.Thread(target=self._run, args=(sub,), name=f"bus-{sub.consumer}", daemon=True)
        sub.thread.start()

    def _run(self, sub: _Subscription) -> None:
        if sub.batch_handler is not None:
            self._run_batches(sub, sub.batch_handler)
            return
        while True:
            event = sub.inbox.get()
            try:
                if event is None:
                    return
                self._deliver(sub, event)
            finally:
                sub.inbox.task_done()

    def _run_batches(self, sub: _Subscription, batch_handler: BatchHandler) -> None:
        while True:
            first = sub.inbox.get()
            if first is None:
                sub.inbox.task_done()
                return
            batch, stop = take_batch(sub.inbox, first, sub.max_batch)
            try:
                batch_handler(batch)
            except Exception:
                log.warning(
                    "batch handler failed; delivering its events one by one",
                    exc_info=True,
                    extra={"consumer": sub.consumer, "events": len(batch)},
                )
                for event in batch:
                    self._deliver(sub, event)
            finally:
                for _ in range(len(batch) + (1 if stop else 0)):
                    sub.inbox.task_done()
            if stop:
                return

    def _deliver(self, sub: _Subscription, event: Event) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                sub.handler(event)
                return
            except Exception as exc:
                if attempt == self.max_attempts:
                    log.error(
                        "event dead-lettered",
                        extra={
                            "consumer": sub.consumer,
                            "event_id": event.id,
                            "event_type": event.type,
                            "error": repr(exc),
                        },
                    )
                    self.dead_letters.append((sub.consumer, event, repr(exc)))
                    if self.on_dead_letter is not None:
                        self.on_dead_letter(sub.consumer, event, exc)
                    return
                log.warning(
                    "event handler failed; retrying",
                    extra={"consumer": sub.consumer, "event_id": event.id, "attempt": attempt},
                )
                time.sleep(self.base_delay_s * (2 ** (attempt - 1)))
