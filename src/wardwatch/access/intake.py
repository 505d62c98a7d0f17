"""The one writer of door events: HTTP batches and MQTT messages stored together, in turns.

Terminals report over HTTP and over MQTT at once. When each HTTP request stored its batch
in a transaction of its own, a hundred requests a second queued on SQLite's single write
lock next to the MQTT subscriber's turns, and request threads fighting over the GIL while
holding it made every transaction slower: the events that waited longest waited behind
other terminals' commits. Here one worker takes whatever arrived since its last turn, from
both paths, judges it and stores it in one transaction; an HTTP request waits for its own
result (a future), an MQTT message's refusals are published back by the subscriber.

If storing a turn together fails, each message is stored alone, so one bad message cannot
sink the others; a message that still fails gets its error back (HTTP: a 500 problem) and
is logged. Before ``start`` and after ``stop`` messages are stored on the caller's thread.

Under load (a turn just ended, or more is queued) a turn waits ``access.intake_linger_ms``
after its first message before it starts, so a steady stream is stored in a few large
turns rather than many of one message each; a message after a quiet spell goes at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from wardwatch.access.events import Delivery, DoorEvents
from wardwatch.access.schemas import IngestResult
from wardwatch.kernel.bus import take_batch

log = logging.getLogger(__name__)

MAX_TURN = 200
"""Messages stored in one transaction at most."""

Outcome = IngestResult | BaseException | None
"""A message's result, the error storing it raised, or None (it was refused whole)."""


@dataclass(frozen=True)
class Job:
    """A message waiting for its turn.

    ``prepare`` runs on the worker, first in the turn: it attributes and reads the message
    (an MQTT message names its terminal inside), or returns None once it refused it whole.
    ``done`` is told the outcome after the turn committed.
    """

    prepare: Callable[[], Delivery | None]
    done: Callable[[Outcome], None]


class DoorEventIntake:
    def __init__(self, events: DoorEvents) -> None:
        self.events = events
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._worker is not None

    def start(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="door-event-intake", daemon=True)
                self._worker.start()

    def stop(self) -> None:
        """Store what is queued, then end the worker."""
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            self._queue.put(None)
            worker.join(timeout=30)

    # ---------------------------------------------------------------- handing messages over

    def put(self, job: Job) -> None:
        if self._worker is None:
            self.turn([job])
        else:
            self._queue.put(job)

    def submit(self, delivery: Delivery) -> Future[IngestResult]:
        """An attributed message (HTTP); the future holds its result once it is stored."""
        future: Future[IngestResult] = Future()

        def done(outcome: Outcome) -> None:
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            elif outcome is None:
                future.set_exception(RuntimeError("a door event message was not stored"))
            else:
                future.set_result(outcome)

        self.put(Job(lambda: delivery, done))
        return future

    # ---------------------------------------------------------------- the worker

    def _work(self) -> None:
        linger = self.events.deps.settings.access.intake_linger_ms / 1000
        last_turn = 0.0
        while True:
            first = self._queue.get()
            if first is None:
                return
            busy = time.monotonic() - last_turn < linger or not self._queue.empty()
            if linger > 0 and busy and self._queue.qsize() < MAX_TURN:
                # Group commit, under load only: what arrives in the next few milliseconds
                # joins this turn. Without it, a steady stream made a turn of one or two
                # messages every couple of milliseconds, and the fixed cost of each (a
                # transaction, a relay hand-over, a wake-up of the rules) used the whole
                # core. A message after a quiet spell is stored at once.
                time.sleep(linger)
            batch, stop = take_batch(self._queue, first, MAX_TURN)
            self.turn(batch)
            last_turn = time.monotonic()
            if stop:
                return

    def turn(self, jobs: Sequence[Job]) -> None:
        """Prepare, store and answer a turn's jobs; never raises."""
        outcomes: list[Outcome] = [None] * len(jobs)
        ready: list[tuple[int, Delivery]] = []
        for number, job in enumerate(jobs):
            try:
                delivery = job.prepare()
            except Exception as exc:
                log.exception("a door event message could not be read")
                outcomes[number] = exc
                continue
            if delivery is not None:
                ready.append((number, delivery))
        for (number, _), outcome in zip(ready, self.store([d for _, d in ready]), strict=True):
            outcomes[number] = outcome
        for job, outcome in zip(jobs, outcomes, strict=True):
            try:
                job.done(outcome)
            except Exception:
                log.exception("a door event message's sender could not be answered")

    def store(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """Store messages in one transaction; if that fails, each alone. One outcome each."""
        if not deliveries:
            return []
        try:
            return list(self.events.ingest_many(deliveries))
        except Exception as exc:
            if len(deliveries) == 1:
                log.exception(
                    "a door event message could not be stored", extra={"source": deliveries[0].source}
                )
                return [exc]
            log.exception("storing door event messages together failed; storing them one by one")
        outcomes: list[Outcome] = []
        for delivery in deliveries:
            outcomes.extend(self.store([delivery]))
        return outcomes
