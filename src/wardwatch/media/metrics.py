"""Prometheus view of the media plane, read at scrape time from the index and the disk.

Gauges are computed when scraped rather than updated on every event, so they cannot
drift from what the index says: streams by state, recorded bytes, storage use against
the configured thresholds, and the open storage alert's level.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from wardwatch.media import store
from wardwatch.media.retention import RetentionService

log = logging.getLogger(__name__)

_ALERT_LEVELS = {"ok": 0, "warning": 1, "critical": 2}


class MediaCollector(Collector):
    def __init__(self, retention: RetentionService) -> None:
        self.retention = retention

    def collect(self) -> Iterator[GaugeMetricFamily]:
        deps = self.retention.deps
        try:
            with deps.db.read() as conn:
                states: dict[str, int] = dict(
                    conn.execute(
                        select(store.stream_status.c.status, func.count()).group_by(
                            store.stream_status.c.status
                        )
                    ).all()
                )
                alert = conn.execute(
                    select(store.storage_alerts.c.level).where(store.storage_alerts.c.cleared_at.is_(None))
                ).scalar()
            usage = self.retention.usage()
        except Exception:  # a scrape must not fail the endpoint; the gap in the series shows it
            log.exception("could not read media metrics")
            return
        streams = GaugeMetricFamily(
            "wardwatch_camera_streams", "Cameras by last reported stream state.", labels=["status"]
        )
        for status, count in sorted(states.items()):
            streams.add_metric([status], count)
        yield streams
        yield GaugeMetricFamily(
            "wardwatch_recordings_bytes", "Bytes of indexed recorded segments.", value=usage.recordings_bytes
        )
        yield GaugeMetricFamily(
            "wardwatch_storage_used_ratio",
            "Recordings storage use (the fuller of disk and quota), 0..1.",
            value=usage.used_pct / 100,
        )
        yield GaugeMetricFamily(
            "wardwatch_storage_alert_level",
            "Open storage alert: 0 none, 1 warning, 2 critical.",
            value=_ALERT_LEVELS.get(alert or "ok", 0),
        )
