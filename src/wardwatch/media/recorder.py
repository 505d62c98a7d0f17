"""Recorder workers and the supervisor that keeps them running.

Cameras are spread over a few worker processes (each runs one ingest thread per camera),
so recording uses every core without one FFmpeg process per camera. The supervisor in
the server process hands out cameras, writes what the workers report into the media
index, and restarts a worker that dies, with backoff, after recovering the segments it
left half-written.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from wardwatch.media.ingest import CameraIngest, CameraJob, Event
from wardwatch.media.model import backoff_seconds
from wardwatch.media.recovery import recover_all

log = logging.getLogger(__name__)


def worker_main(worker_id: int, root: str, commands: Connection, events: Any) -> None:
    """Entry point of a recorder worker process."""
    ingests: dict[str, CameraIngest] = {}
    base = Path(root)

    def start(job: CameraJob) -> None:
        stop(job.camera_id)
        ingest = CameraIngest(job, base, events.put)
        ingests[job.camera_id] = ingest
        ingest.start()

    def stop(camera_id: str) -> None:
        ingest = ingests.pop(camera_id, None)
        if ingest is not None:
            ingest.stop()
            ingest.join(timeout=15)

    while True:
        if not commands.poll(0.5):
            continue
        try:
            command, payload = commands.recv()
        except EOFError:
            command, payload = "shutdown", None
        if command == "start":
            start(payload)
        elif command == "stop":
            stop(payload)
        elif command == "shutdown":
            for camera_id in list(ingests):
                ingests[camera_id].stop()
            for camera_id in list(ingests):
                stop(camera_id)
            return


@dataclass
class _Worker:
    index: int
    process: Any = None
    commands: Connection | None = None
    cameras: dict[str, CameraJob] = field(default_factory=dict)
    restarts: int = 0
    next_start: float = 0.0


class RecorderSupervisor:
    """Keeps every active camera recording in one of ``workers`` processes."""

    def __init__(self, root: Path, record: Any, jobs: Any, workers: int = 2) -> None:
        self.root = root
        self._record = record  # Callable[[Event], None]
        self._jobs = jobs  # Callable[[], list[CameraJob]]
        self._context = multiprocessing.get_context("spawn")
        self._events: Any = self._context.Queue()
        self._workers = [_Worker(i) for i in range(workers)]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        for event in recover_all(self.root):
            self._safe_record(event)
        for worker in self._workers:
            self._spawn(worker)
        self.sync()
        self._threads = [
            threading.Thread(target=self._pump, name="recorder-events", daemon=True),
            threading.Thread(target=self._watch, name="recorder-watchdog", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for worker in self._workers:
                if worker.commands is not None:
                    with contextlib.suppress(OSError):
                        worker.commands.send(("shutdown", None))
            for worker in self._workers:
                if worker.process is not None:
                    worker.process.join(timeout=20)
                    if worker.process.is_alive():
                        worker.process.kill()
        for thread in self._threads:
            thread.join(timeout=5)
        self._drain()

    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process is not None]

    def assignments(self) -> dict[str, int]:
        with self._lock:
            return {camera: w.index for w in self._workers for camera in w.cameras}

    # -- cameras ------------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring the workers in line with the cameras that are active now."""
        wanted = {job.camera_id: job for job in self._jobs()}
        with self._lock:
            for worker in self._workers:
                for camera_id in list(worker.cameras):
                    if camera_id not in wanted or wanted[camera_id] != worker.cameras[camera_id]:
                        worker.cameras.pop(camera_id)
                        self._send(worker, ("stop", camera_id))
            assigned = {c for w in self._workers for c in w.cameras}
            for camera_id, job in wanted.items():
                if camera_id in assigned:
                    continue
                worker = min(self._workers, key=lambda w: len(w.cameras))
                worker.cameras[camera_id] = job
                self._send(worker, ("start", job))

    def _send(self, worker: _Worker, message: tuple[str, Any]) -> None:
        if worker.commands is None:
            return
        try:
            worker.commands.send(message)
        except OSError:
            log.warning("recorder worker is not listening", extra={"worker": worker.index})

    def _spawn(self, worker: _Worker) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=worker_main,
            args=(worker.index, str(self.root), child, self._events),
            name=f"wardwatch-recorder-{worker.index}",
            daemon=True,
        )
        process.start()
        child.close()
        worker.process, worker.commands = process, parent
        for job in worker.cameras.values():
            self._send(worker, ("start", job))

    # -- threads --------------------------------------------------------------------------------

    def _safe_record(self, event: Event) -> None:
        try:
            self._record(event)
        except Exception:
            log.exception("could not index a recorder event", extra={"event": type(event).__name__})

    def _pump(self) -> None:
        while not self._stop.is_set():
            try:
                event = self._events.get(timeout=0.5)
            except queue.Empty:
                continue
            self._safe_record(event)

    def _drain(self) -> None:
        while True:
            try:
                event = self._events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            self._safe_record(event)

    def _watch(self) -> None:
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
                            "recorder worker died; restarting",
                            extra={
                                "worker": worker.index,
                                "exitcode": worker.process.exitcode,
                                "restarts": worker.restarts,
                            },
                        )
                        for event in recover_all(self.root, set(worker.cameras)):
                            self._safe_record(event)
                    if now >= worker.next_start:
                        worker.next_start = 0.0
                        self._spawn(worker)
