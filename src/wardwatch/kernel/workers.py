"""A pool of worker processes, one thread per camera in each, kept running by the server.

The recorder and the picture analysis both spread cameras over a few ``spawn``ed worker
processes: that uses every core without one process per camera, and keeps their work
off the API's interpreter lock. The mechanics are the same for both and live here:

- ``sync()`` brings the workers in line with the jobs wanted now (a job that changed is
  stopped and started again; a new one goes to the least loaded worker);
- one thread pumps what the workers report into ``deliver`` (an exception there is
  logged, never lets the pump die) and the rest is drained at stop;
- a watchdog restarts a dead worker with exponential backoff and jitter, loudly, after
  the subclass's ``worker_died`` has dealt with what it left behind.

Workers take ``(command, payload)`` tuples over a pipe: ``("start", job)``,
``("stop", camera_id)``, ``("shutdown", None)``, plus whatever a subclass adds.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Generic, Protocol, TypeVar

from wardwatch.kernel import affinity

log = logging.getLogger(__name__)


def backoff_seconds(
    attempt: int, *, base: float = 1.0, cap: float = 30.0, rng: random.Random | None = None
) -> float:
    """Exponential backoff with full jitter (AWS style): random in [base, min(cap, base * 2**n)]."""
    ceiling = min(cap, base * (2 ** max(0, attempt)))
    return (rng or random).uniform(base, max(base, ceiling))


class Job(Protocol):
    @property
    def camera_id(self) -> str: ...


J = TypeVar("J", bound=Job)


@dataclass
class Worker(Generic[J]):
    """One worker process as the pool sees it, with the cameras handed to it."""

    index: int
    process: Any = None
    commands: Connection | None = None
    cameras: dict[str, J] = field(default_factory=dict)
    restarts: int = 0
    next_start: float = 0.0
    stats: Any = None


class WorkerPool(Generic[J]):
    """Keeps every wanted job running in one of ``workers`` processes."""

    name = "worker"
    """Names the processes and threads (``wardwatch-<name>-N``) and the log lines."""

    def __init__(self, jobs: Callable[[], list[J]], workers: int) -> None:
        self._jobs = jobs
        self._context = multiprocessing.get_context("spawn")
        self._reports: Any = self._context.Queue()
        self._workers: list[Worker[J]] = [Worker(i) for i in range(workers)]
        self._lock = threading.RLock()  # worker_died may ask which cameras a worker had
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- what a pool is made of ---------------------------------------------------------------

    def target(self) -> Callable[..., None]:
        """The worker process's entry point, called as ``target(*args(worker))``."""
        raise NotImplementedError

    def args(self, worker: Worker[J], commands: Connection) -> tuple[Any, ...]:
        return (worker.index, commands, self._reports)

    def deliver(self, report: Any) -> None:
        """Take one report from a worker (runs on the pump thread)."""
        raise NotImplementedError

    def changed(self, running: J, wanted: J) -> bool:
        """Whether a running job must be restarted to become ``wanted``."""
        return running != wanted

    def worker_died(self, worker: Worker[J]) -> None:
        """Deal with what a dead worker left behind, before it is restarted."""

    def restart_jobs(self, worker: Worker[J]) -> dict[str, J]:
        """The jobs a restarted worker is given again (by default, the ones it had)."""
        return worker.cameras

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        for worker in self._workers:
            self._spawn(worker)
        self.sync()
        self._threads = [
            threading.Thread(target=self._pump, name=f"{self.name}-reports", daemon=True),
            threading.Thread(target=self._watchdog, name=f"{self.name}-watchdog", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for worker in self._workers:
                self._send(worker, ("shutdown", None))
            for worker in self._workers:
                if worker.process is not None:
                    worker.process.join(timeout=20)
                    if worker.process.is_alive():
                        worker.process.kill()
        for thread in self._threads:
            thread.join(timeout=5)
        self._drain()

    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process is not None and w.process.pid]

    def assignments(self) -> dict[str, int]:
        with self._lock:
            return {camera: w.index for w in self._workers for camera in w.cameras}

    # -- jobs -----------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring the workers in line with the jobs that are wanted now."""
        wanted = {job.camera_id: job for job in self._jobs()}
        with self._lock:
            for worker in self._workers:
                for camera_id in list(worker.cameras):
                    job = wanted.get(camera_id)
                    if job is None or self.changed(worker.cameras[camera_id], job):
                        worker.cameras.pop(camera_id)
                        self._send(worker, ("stop", camera_id))
            assigned = {c for w in self._workers for c in w.cameras}
            for camera_id, job in wanted.items():
                if camera_id in assigned:
                    continue
                worker = min(self._workers, key=lambda w: len(w.cameras))
                worker.cameras[camera_id] = job
                self._send(worker, ("start", job))

    def _send(self, worker: Worker[J], message: tuple[str, Any]) -> None:
        if worker.commands is None:
            return
        try:
            worker.commands.send(message)
        except OSError:
            log.warning(f"{self.name} worker is not listening", extra={"worker": worker.index})

    def _spawn(self, worker: Worker[J]) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=self.target(),
            args=self.args(worker, child),
            name=f"wardwatch-{self.name}-{worker.index}",
            daemon=True,
        )
        process.start()
        affinity.release(process.pid)  # the server's pin is not the worker's: it runs in parallel
        child.close()
        worker.process, worker.commands = process, parent
        if worker.cameras:
            worker.cameras = dict(self.restart_jobs(worker))
            for job in worker.cameras.values():
                self._send(worker, ("start", job))

    # -- threads --------------------------------------------------------------------------

    def _deliver_safely(self, report: Any) -> None:
        try:
            self.deliver(report)
        except Exception:
            log.exception(f"could not handle a {self.name} report", extra={"report": type(report).__name__})

    def _pump(self) -> None:
        while not self._stop.is_set():
            try:
                report = self._reports.get(timeout=0.5)
            except queue.Empty:
                continue
            self._deliver_safely(report)

    def _drain(self) -> None:
        while True:
            try:
                report = self._reports.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            self._deliver_safely(report)

    def _watchdog(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                for worker in self._workers:
                    if worker.process is None or worker.process.is_alive() or self._stop.is_set():
                        continue
                    now = time.monotonic()
                    if worker.next_start == 0.0:
                        worker.restarts += 1
                        worker.next_start = now + backoff_seconds(worker.restarts - 1, base=0.5, cap=30)
                        log.error(
                            f"{self.name} worker died; restarting it",
                            extra={
                                "worker": worker.index,
                                "exitcode": worker.process.exitcode,
                                "restarts": worker.restarts,
                                "cameras": len(worker.cameras),
                            },
                        )
                        try:
                            self.worker_died(worker)
                        except Exception:
                            log.exception(f"could not deal with a dead {self.name} worker")
                    if now >= worker.next_start:
                        worker.next_start = 0.0
                        self._spawn(worker)
