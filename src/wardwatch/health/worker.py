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
import os
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from wardwatch.health.messages import Report, WatchJob, WorkerStats
from wardwatch.health.watch import CameraWatch
from wardwatch.kernel.workers import Worker, WorkerPool

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


class HealthSupervisor(WorkerPool[WatchJob]):
    """Keeps every active camera watched by one of ``workers`` analysis processes.

    A worker that dies is restarted loudly: its cameras are unwatched until it is back,
    and ``on_worker_died`` tells the health service so.
    """

    name = "health"

    def __init__(
        self,
        handle: Callable[[Report], None],
        jobs: Callable[[], list[WatchJob]],
        *,
        workers: int = 1,
        on_worker_died: Callable[[int, int | None], None] | None = None,
    ) -> None:
        super().__init__(jobs, workers)
        self._handle = handle
        self._on_died = on_worker_died

    def target(self) -> Callable[..., None]:
        return worker_main

    def deliver(self, report: Any) -> None:
        if isinstance(report, WorkerStats):
            for worker in self._workers:
                if worker.index == report.worker:
                    worker.stats = report
            return
        self._handle(report)

    def changed(self, running: WatchJob, wanted: WatchJob) -> bool:
        return job_key(running) != job_key(wanted)

    def worker_died(self, worker: Worker[WatchJob]) -> None:
        if self._on_died is not None:
            self._on_died(worker.index, worker.process.exitcode)

    def restart_jobs(self, worker: Worker[WatchJob]) -> dict[str, WatchJob]:
        # A restarted worker starts from the baselines stored last, not from scratch.
        fresh = {job.camera_id: job for job in self._jobs()}
        return {camera_id: fresh.get(camera_id, job) for camera_id, job in worker.cameras.items()}

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

    def stats(self) -> list[WorkerStats]:
        return [w.stats for w in self._workers if w.stats is not None]
