"""Running ``wardwatch sim cameras`` as a child process (for the demo and the benchmarks).

The simulator runs in a process of its own so that its CPU is not counted against the
recorder, and so that a GLib main loop never shares a GIL with the API server. Its
cameras are ready when every camera's port accepts connections; the first start of a
new resolution encodes the scene loops, which takes a minute or two on two cores.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


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
