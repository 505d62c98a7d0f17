"""A background thread that runs one job every so often, and says so loudly when it fails."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs ``job`` now and then every ``interval_s`` until stopped; an exception is logged
    with ``failure`` (what the failure means for the user) and the next run still happens."""

    def __init__(self, name: str, interval_s: float, job: Callable[[], object], failure: str) -> None:
        self.name = name
        self.interval_s = interval_s
        self.job = job
        self.failure = failure
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.job()
            except Exception:
                log.exception(self.failure, extra={"job": self.name})
            self._stop.wait(self.interval_s)
