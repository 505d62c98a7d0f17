"""Prometheus view of camera health, read at scrape time so it cannot drift from the record.

Cameras by health state, incidents not yet closed by status, and the analysis workers'
CPU time (the figure the issue bounds at half a percent of a core per camera).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from wardwatch.health import store
from wardwatch.health.messages import WorkerStats
from wardwatch.kernel.db import Database

log = logging.getLogger(__name__)


class HealthCollector(Collector):
    def __init__(self, db: Database, stats: Callable[[], list[WorkerStats]]) -> None:
        self.db = db
        self.stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        try:
            with self.db.read() as conn:
                states: dict[str, int] = dict(
                    conn.execute(
                        select(store.camera_state.c.state, func.count()).group_by(store.camera_state.c.state)
                    ).all()
                )
                incidents: dict[str, int] = dict(
                    conn.execute(
                        select(store.incidents.c.status, func.count())
                        .where(store.incidents.c.open_key.is_not(None))
                        .group_by(store.incidents.c.status)
                    ).all()
                )
        except Exception:  # a scrape must not fail the endpoint; the gap in the series shows it
            log.exception("could not read camera health metrics")
            return
        health = GaugeMetricFamily("wardwatch_camera_health", "Cameras by health state.", labels=["state"])
        for state, count in sorted(states.items()):
            health.add_metric([state], count)
        yield health
        unclosed = GaugeMetricFamily(
            "wardwatch_camera_incidents", "Camera incidents not yet closed, by status.", labels=["status"]
        )
        for status, count in sorted(incidents.items()):
            unclosed.add_metric([status], count)
        yield unclosed
        cpu = CounterMetricFamily(
            "wardwatch_health_analysis_cpu_seconds",
            "CPU time of the picture analysis workers since they started.",
            labels=["worker"],
        )
        watched = GaugeMetricFamily(
            "wardwatch_health_watched_cameras", "Cameras each analysis worker watches.", labels=["worker"]
        )
        for stat in self.stats():
            cpu.add_metric([str(stat.worker)], stat.cpu_s)
            watched.add_metric([str(stat.worker)], stat.cameras)
        yield cpu
        yield watched
