"""SQLite connections: a thread that has written keeps its connection, and nobody starves for one.

Each writing thread holds a write connection for reuse (Database.write_connection). With
SQLAlchemy's default pool (5 + 10 overflow) the demo ran dry once fifteen threads had
written, and every read then waited for a connection that was never returned: sign-ins
hung and the server took over a minute to stop.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from wardwatch.kernel.db import Database

WRITERS = 24
"""More threads than the default pool's 15 connections, as the API's and workers' are."""


def test_reads_get_a_connection_while_more_threads_than_a_default_pool_hold_theirs(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'pool.db'}")
    with db.write() as conn:
        conn.execute(text("CREATE TABLE t (writer INTEGER)"))
    wrote = threading.Barrier(WRITERS + 1)
    done = threading.Event()
    failures: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            with db.write() as conn:
                conn.execute(text("INSERT INTO t VALUES (:i)"), {"i": index})
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)
        wrote.wait()
        done.wait()  # alive, and so still holding its write connection

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        wrote.wait()
        assert not failures, failures
        # A capped pool would make this wait 30 s and raise; here it answers.
        with db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == WRITERS
        with db.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (-1)"))
    finally:
        done.set()
        for thread in threads:
            thread.join()
        db.dispose()
