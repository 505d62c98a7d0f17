"""The camera simulator as a child process stops when asked, and when its parent is gone.

A test run started from a non-interactive shell hands SIGINT down as ignored; the demo's
simulator then never heard its stop signal and was killed 20 s later, and a demo that was
itself killed left its 16 cameras running for the rest of the suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

from support import wait_for
from test_sim_cameras import free_base_port
from wardwatch.demo import CAMERA_RESOLUTION
from wardwatch.sim.process import SimulatorProcess, port_open

MAIN, SUB = CAMERA_RESOLUTION  # the demo's sizes: their loops are likely encoded already


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_simulator_stops_on_sigint_even_when_it_inherited_sigint_ignored() -> None:
    port = free_base_port(2)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        simulator = SimulatorProcess(1, port, resolution=MAIN, sub=SUB).start()
    finally:
        signal.signal(signal.SIGINT, previous)
    process = simulator.process
    assert process is not None and port_open(port)
    simulator.stop()
    assert process.returncode == 0, "it stopped on SIGINT by itself, not by the kill that follows"
    assert not port_open(port)


def test_the_simulator_stops_when_the_process_that_started_it_is_gone(tmp_path: Path) -> None:
    port = free_base_port(2)
    started = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, threading; from wardwatch.sim.process import SimulatorProcess;"
            f" s = SimulatorProcess(1, {port}, resolution={MAIN!r}, sub={SUB!r}).start();"
            f" open({str(started)!r}, 'w').write(str(s.process.pid)); threading.Event().wait()",
        ],
        start_new_session=True,
    )
    try:
        child = int(wait_for(lambda: started.exists() and started.read_text(), 600, "the simulator to start"))
        assert alive(child) and port_open(port)
        parent.kill()  # no chance to stop its child
        parent.wait()
        wait_for(lambda: not alive(child), 60, "the orphaned simulator to stop")
        assert not port_open(port)
    finally:
        parent.kill()
        parent.wait()
        with suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)  # and the simulator, had it not stopped
