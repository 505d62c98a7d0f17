"""Analysis worker processes and the supervisor that keeps them running.

The picture analysis runs outside the server process, in ``workers`` processes of its
own (one thread per camera in each), so decoding never competes with the API for the
server's interpreter lock and its CPU time can be measured on its own. The supervisor
in the server hands out cameras, passes what the workers report to the health service,
and restarts a worker that dies, with backoff, loudly: its cameras are unwatched until
it is back, and the service is told so.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from wardwatch.health.messages import Report, WatchJob, WorkerStats
from wardwatch.health.watch import CameraWatch

log = logging.getLogger(__name__)

STATS_EVERY_S = 5.0
STALL_CHECK_S = 0.5


def worker_main(worker_id: int, commands: Connection, reports: Any) -> None:
    """Entry point of an analysis worker process."""
    watches: dict[str, CameraWatch] = {}
    analysed = [0]
    lock = threading.Lock()

    def counted() -> None:
        with lock:
            analysed[0] += 1

    def stop(camera_id: str) -> None:
        watch = watches.pop(camera_id, None)
        if watch is not None:
            watch.stop()
            watch.join(timeout=15)

    def stats() -> None:
        with lock:
            done = analysed[0]
        reports.put(WorkerStats(worker_id, os.getpid(), time.process_time(), len(watches), done))

    def watch_stalls() -> None:
        # FFmpeg notices a stalled RTSP connection only after its timeout, sometimes several
        # times over; a camera that sends nothing for ``stall_s`` is offline from then on.
        while True:
            time.sleep(STALL_CHECK_S)
            for watch in list(watches.values()):
                watch.check_stall()

    threading.Thread(target=watch_stalls, name="health-stalls", daemon=True).start()
    next_stats = time.monotonic() + STATS_EVERY_S
    while True:
        if time.monotonic() >= next_stats:
            stats()
            next_stats = time.monotonic() + STATS_EVERY_S
        if not commands.poll(0.5):
            continue
        try:
            command, payload = commands.recv()
        except EOFError:
            command, payload = "shutdown", None
        if command == "start":
            stop(payload.camera_id)
            watch = CameraWatch(payload, reports.put, counted)
            watches[payload.camera_id] = watch
            watch.start()
        elif command == "stop":
            stop(payload)
        elif command == "rebaseline":
            found = watches.get(payload)
            if found is not None:
                found.rebaseline()
        elif command == "stats":
            stats()
        elif command == "shutdown":
            for watch in watches.values():
                watch.stop()
            for camera_id in list(watches):
                stop(camera_id)
            stats()
            return


def job_key(job: WatchJob) -> tuple[Any, ...]:
    """What makes a running watch out of date (its stored baseline does not)."""
    return (
        job.url,
        job.username,
        job.password,
        job.thresholds,
        job.interval_s,
        job.analysis_width,
        job.read_timeout_s,
        job.stall_s,
        job.transport,
    )


@dataclass
class _Worker:
    index: int
    process: Any = None
    commands: Connection | None = None
    cameras: dict[str, WatchJob] = field(default_factory=dict)
    restarts: int = 0
    next_start: float = 0.0
    stats: WorkerStats | None = None


class HealthSupervisor:
    """Keeps every active camera watched by one of ``workers`` analysis processes."""

    def __init__(
        self,
        handle: Callable[[Report], None],
        jobs: Callable[[], list[WatchJob]],
        *,
        workers: int = 1,
        on_worker_died: Callable[[int, int | None], None] | None = None,
    ) -> None:
        self._handle = handle
        self._jobs = jobs
        self._on_died = on_worker_died
        self._context = multiprocessing.get_context("spawn")
        self._reports: Any = self._context.Queue()
        self._workers = [_Worker(i) for i in range(workers)]
        self._lock = threading.RLock()  # the watchdog's callback asks which cameras a worker had
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        for worker in self._workers:
            self._spawn(worker)
        self.sync()
        self._threads = [
            threading.Thread(target=self._pump, name="health-reports", daemon=True),
            threading.Thread(target=self._watchdog, name="health-watchdog", daemon=True),
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

    # -- cameras ------------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring the workers in line with the cameras that are active now."""
        wanted = {job.camera_id: job for job in self._jobs()}
        with self._lock:
            for worker in self._workers:
                for camera_id in list(worker.cameras):
                    job = wanted.get(camera_id)
                    if job is None or job_key(job) != job_key(worker.cameras[camera_id]):
                        worker.cameras.pop(camera_id)
                        self._send(worker, ("stop", camera_id))
            assigned = {c for w in self._workers for c in w.cameras}
            for camera_id, job in wanted.items():
                if camera_id in assigned:
                    continue
                worker = min(self._workers, key=lambda w: len(w.cameras))
                worker.cameras[camera_id] = job
                self._send(worker, ("start", job))

    def rebaseline(self, camera_id: str) -> bool:
        """Tell the camera's watch to forget its normal; False when nobody watches it."""
        with self._lock:
            for worker in self._workers:
                if camera_id in worker.cameras:
                    self._send(worker, ("rebaseline", camera_id))
                    return True
        return False

    def watched(self) -> set[str]:
        with self._lock:
            return {c for w in self._workers for c in w.cameras}

    def cameras_of(self, worker: int) -> set[str]:
        with self._lock:
            return {c for w in self._workers if w.index == worker for c in w.cameras}

    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process is not None and w.process.pid]

    def stats(self) -> list[WorkerStats]:
        return [w.stats for w in self._workers if w.stats is not None]

    def _send(self, worker: _Worker, message: tuple[str, Any]) -> None:
        if worker.commands is None:
            return
        try:
            worker.commands.send(message)
        except OSError:
            log.warning("health analysis worker is not listening", extra={"worker": worker.index})

    def _spawn(self, worker: _Worker) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=worker_main,
            args=(worker.index, child, self._reports),
            name=f"wardwatch-health-{worker.index}",
            daemon=True,
        )
        process.start()
        child.close()
        worker.process, worker.commands = process, parent
        if worker.cameras:
            # A restarted worker starts from the baselines stored last, not from scratch.
            fresh = {job.camera_id: job for job in self._jobs()}
            for camera_id in list(worker.cameras):
                job = fresh.get(camera_id, worker.cameras[camera_id])
                worker.cameras[camera_id] = job
                self._send(worker, ("start", job))

    # -- threads --------------------------------------------------------------------------------

    def _dispatch(self, report: Report) -> None:
        if isinstance(report, WorkerStats):
            for worker in self._workers:
                if worker.index == report.worker:
                    worker.stats = report
            return
        try:
            self._handle(report)
        except Exception:
            log.exception("could not handle a health report", extra={"report": type(report).__name__})

    def _pump(self) -> None:
        while not self._stop.is_set():
            try:
                report = self._reports.get(timeout=0.5)
            except queue.Empty:
                continue
            self._dispatch(report)

    def _drain(self) -> None:
        while True:
            try:
                report = self._reports.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            self._dispatch(report)

    def _watchdog(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                for worker in self._workers:
                    if worker.process is None or worker.process.is_alive() or self._stop.is_set():
                        continue
                    now = time.monotonic()
                    if worker.next_start == 0.0:
                        worker.restarts += 1
                        ceiling = min(30.0, 0.5 * 2 ** (worker.restarts - 1))
                        worker.next_start = now + random.uniform(0.5, max(0.5, ceiling))  # noqa: S311
                        log.error(
                            "health analysis worker died; its cameras are unwatched until it restarts",
                            extra={
                                "worker": worker.index,
                                "exitcode": worker.process.exitcode,
                                "restarts": worker.restarts,
                                "cameras": len(worker.cameras),
                            },
                        )
                        if self._on_died is not None:
                            try:
                                self._on_died(worker.index, worker.process.exitcode)
                            except Exception:
                                log.exception("could not record a dead health analysis worker")
                    if now >= worker.next_start:
                        worker.next_start = 0.0
                        self._spawn(worker)
