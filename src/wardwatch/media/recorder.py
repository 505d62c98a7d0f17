"""Recorder workers and the supervisor that keeps them running.

Cameras are spread over a few worker processes (each runs one ingest thread per camera),
so recording uses every core without one FFmpeg process per camera. The supervisor in
the server process hands out cameras, writes what the workers report into the media
index, and restarts a worker that dies, with backoff, after recovering the segments it
left half-written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from wardwatch.kernel.workers import Worker, WorkerPool
from wardwatch.media.ingest import CameraIngest, CameraJob, Event
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


class RecorderSupervisor(WorkerPool[CameraJob]):
    """Keeps every active camera recording in one of ``workers`` processes."""

    name = "recorder"

    def __init__(
        self,
        root: Path,
        record: Callable[[Event], None],
        jobs: Callable[[], list[CameraJob]],
        workers: int = 2,
    ) -> None:
        super().__init__(jobs, workers)
        self.root = root
        self._record = record

    def start(self) -> None:
        # What a previous run left half-written is settled before anything new is recorded.
        for event in recover_all(self.root):
            self._deliver_safely(event)
        super().start()

    def target(self) -> Callable[..., None]:
        return worker_main

    def args(self, worker: Worker[CameraJob], commands: Connection) -> tuple[Any, ...]:
        return (worker.index, str(self.root), commands, self._reports)

    def deliver(self, report: Any) -> None:
        self._record(report)

    def worker_died(self, worker: Worker[CameraJob]) -> None:
        for event in recover_all(self.root, set(worker.cameras)):
            self._deliver_safely(event)
