"""The server pinned to its CPUs, its worker processes given every CPU back, and the log
checkpointed off the write path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wardwatch.kernel.db import Database

CPUS = sorted(os.sched_getaffinity(0))

PINNED_PARENT = """
import json, multiprocessing, os, time
from wardwatch.kernel import affinity

def child_cpus(queue):
    time.sleep(0.5)  # the parent releases it right after it starts
    queue.put(sorted(os.sched_getaffinity(0)))

if __name__ == "__main__":
    everything = sorted(os.sched_getaffinity(0))
    affinity.pin([everything[0]])
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=child_cpus, args=(queue,))
    child.start()
    affinity.release(child.pid)
    print(json.dumps([sorted(os.sched_getaffinity(0)), queue.get(timeout=60), everything]))
    child.join()
"""


@pytest.mark.skipif(len(CPUS) < 2, reason="pinning means something with two CPUs or more")
def test_a_pinned_server_runs_on_its_cpu_and_its_workers_on_every_cpu(tmp_path: Path) -> None:
    script = tmp_path / "pinned.py"
    script.write_text(PINNED_PARENT)
    done = subprocess.run(
        [sys.executable, str(script)], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    parent, child, everything = json.loads(done.stdout)
    assert parent == [everything[0]]
    assert child == everything


def test_pinning_to_cpus_this_process_may_not_use_is_refused() -> None:
    from wardwatch.kernel import affinity

    with pytest.raises(ValueError, match="cpu_affinity"):
        affinity.pin([max(CPUS) + 1000])
    assert sorted(os.sched_getaffinity(0)) == CPUS


def test_the_write_ahead_log_is_checkpointed_on_request(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        with db.write() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            for i in range(100):
                conn.exec_driver_sql(f"INSERT INTO t VALUES ({i})")
        result = db.checkpoint()
        assert result is not None
        busy, frames, copied = result
        assert busy == 0 and frames > 0 and copied == frames
    finally:
        db.dispose()
