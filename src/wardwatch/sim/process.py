"""Running ``wardwatch sim cameras`` as a child process (for the demo and the benchmarks).

The simulator runs in a process of its own so that its CPU is not counted against the
recorder, and so that a GLib main loop never shares a GIL with the API server. Its
cameras are ready when every camera's port accepts connections; the first start of a
new resolution encodes the scene loops, which takes a minute or two on two cores.

The child stops on SIGINT or SIGTERM whatever it inherited (a parent started from a
non-interactive shell passes SIGINT on as ignored, and a stop signal then went unheard
until the kill 20 s later), and it stops on its own when the process that started it is
gone, so a demo or test that was killed never leaves 16 cameras eating the CPU.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import IO


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def wait_for_stop(parent_pid: int | None = None, poll_s: float = 0.5) -> None:
    """Block until SIGINT or SIGTERM arrives, or until ``parent_pid`` is no longer our parent.

    The handlers are installed here, not inherited: an ignored SIGINT is overridden too.
    """
    stop = threading.Event()
    previous = {
        number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        while not stop.wait(poll_s):
            if parent_pid is not None and os.getppid() != parent_pid:
                return  # orphaned: whoever started us is gone and will never stop us
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@dataclass
class SimulatorProcess:
    count: int
    port: int
    resolution: str = "1080p"
    sub: str = "none"
    scene: str = "mixed"
    fps: int = 25
    process: subprocess.Popen[bytes] | None = None
    _errors: IO[bytes] | None = field(default=None, repr=False)

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.port - 1}"

    def url(self, index: int, variant: str = "main") -> str:
        return f"rtsp://127.0.0.1:{self.port + index}/{variant}"

    def start(self, timeout: float = 600) -> SimulatorProcess:
        """Start the cameras and wait until every one accepts connections."""
        busy = [self.port + i for i in range(-1, self.count) if port_open(self.port + i)]
        if busy:
            raise RuntimeError(f"ports already in use, cannot start the simulated cameras: {busy[:5]}")
        command = [
            sys.executable,
            "-m",
            "wardwatch.cli",
            "sim",
            "cameras",
            "--count",
            str(self.count),
            "--port",
            str(self.port),
            "--resolution",
            self.resolution,
            "--sub",
            self.sub,
            "--scene",
            self.scene,
            "--fps",
            str(self.fps),
            "--parent-pid",
            str(os.getpid()),
        ]
        # Its messages go to a file, never a pipe nobody reads (a full pipe would stall it).
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._errors
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._errors.seek(0)
                error = self._errors.read().decode(errors="replace").strip().splitlines()
                raise RuntimeError(f"the camera simulator exited: {error[-1] if error else 'no message'}")
            if all(port_open(self.port + i) for i in range(self.count)):
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("the camera simulator did not start in time")

    def stop(self) -> None:
        process, self.process = self.process, None
        errors, self._errors = self._errors, None
        if errors is not None:
            errors.close()
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
