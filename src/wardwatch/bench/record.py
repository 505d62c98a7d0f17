"""``wardwatch bench record``: our recorder against one ``ffmpeg -c copy`` process per camera.

Both sides record the same simulated cameras at the same time, and are measured over the
same window: one ``wardwatch sim cameras`` process (whose CPU is never counted) serves
every camera to both. Measuring them one after the other on a shared machine let other
people's work decide the ratio (0.83 to 0.98 over four runs of the same code); in one
window, whatever else runs loads both sides alike.

How each side gets to the window is the same: both start together; the window opens
``SETTLE_S`` after every camera is recording on both sides (ours: every camera reported
``online``; baseline: every ffmpeg has opened its first segment file).

What is counted:

- ``cpu_*`` (the targets): user + system time from ``/proc/<pid>/stat`` over the window.
  Ours are the recorder workers plus the process that runs the supervisor's event pump
  (this benchmark's own, which otherwise sleeps); the baseline's are the ffmpeg processes.
  This is conservative for us: our recorder fsyncs every finished segment, so the
  writeback of its files runs in its own system time, while the baseline never syncs and
  the kernel writes its files back in ``kworker`` threads that ``/proc/<pid>`` does not
  charge to ffmpeg.
- ``window_cpu_pct``: where the whole machine's busy time (``/proc/stat``) went in the
  window, in percent of one core: ours, the baseline, the simulator, kernel threads
  (mostly the baseline's writeback), other processes (other users of a shared machine),
  and what no process listed at both ends of the window was charged with.
- Memory: resident set (``VmRSS``, the target) and proportional set (``Pss``, which splits
  the shared libraries fairly between the ffmpeg processes) of the same processes at the
  end of the window, without this benchmark's own process.

Every segment our recorder finished is checked, not only the full-length ones: the file
on disk has exactly the bytes and SHA-256 its index entry says, its first packet is a
keyframe that decodes, and the container's duration is the indexed duration; a full
segment must also be one segment long. A segment failing any of this is corrupt.

``segments_expected`` counts, per camera, the full segments that fit between the camera's
first segment (or the start of the window, whichever is earlier) and the moment the
recorder was told to stop, less ``STOP_SLACK_S`` for the segment that was being finished
then; ``segments_complete`` counts the full segments our recorder indexed in that stretch.
A camera that came late, dropped out or left a hole comes short.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av

from wardwatch.media.ingest import CameraJob, Event, GapEvent, SegmentEvent, StatusEvent
from wardwatch.media.model import StreamStatus
from wardwatch.media.recorder import RecorderSupervisor

TARGETS = {"cpu_ratio": 1.0, "rss_ratio": 0.25}
SETTLE_S = 5.0
"""Both sides record this long after every camera is in before the window opens."""
STOP_SLACK_S = 1.0
"""A segment ending this close to the stop may still be in its last read, hash and fsync."""
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system time of a process (all its threads), from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _status_kb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return float(line.split()[1])
    return 0.0


def rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmRSS:") / 1024


def pss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def all_processes_cpu() -> dict[int, tuple[bool, float]]:
    """Every process's CPU seconds by pid, and whether it is a kernel thread."""
    found: dict[int, tuple[bool, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        kernel = entry.name == "2" or fields[1] == "2"  # kthreadd and its children
        found[int(entry.name)] = (kernel, (int(fields[11]) + int(fields[12])) / _TICKS)
    return found


def machine_busy_seconds() -> float:
    """Busy time of all CPUs together (everything but idle and iowait), from ``/proc/stat``."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / _TICKS


@dataclass
class Side:
    """What one side's processes spent and held over the window."""

    cpu_s: float
    rss_mb: float
    pss_mb: float


@dataclass
class Window:
    ours: Side
    baseline: Side
    seconds: float
    breakdown: dict[str, float]
    """Where the machine's busy time went, in percent of one core."""


def _processes_cpu(pids: list[int]) -> float:
    try:
        return sum(cpu_seconds(p) for p in pids)
    except OSError:  # its time is lost with it: no honest figure for this window
        raise RuntimeError("a measured process exited during the benchmark") from None


def _memory(pids: list[int]) -> tuple[float, float]:
    return sum(rss_mb(p) for p in pids), sum(pss_mb(p) for p in pids)


def _measure(
    ours: list[int], workers: list[int], baseline: list[int], simulator: int, seconds: float
) -> Window:
    # The /proc scans run outside the processes' interval: the scanning process is ours.
    before, machine0 = all_processes_cpu(), machine_busy_seconds()
    ours0, base0 = _processes_cpu(ours), _processes_cpu(baseline)
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    ours_s, base_s = _processes_cpu(ours) - ours0, _processes_cpu(baseline) - base0
    after, machine1 = all_processes_cpu(), machine_busy_seconds()
    spent = {
        "ours": ours_s,
        "baseline": base_s,
        "simulator": 0.0,
        "kernel_threads": 0.0,
        "other_processes": 0.0,
    }
    measured = set(ours) | set(baseline)
    for pid, (is_kernel, total) in after.items():
        if pid in measured:
            continue
        delta = total - before.get(pid, (is_kernel, 0.0))[1]
        key = "simulator" if pid == simulator else "kernel_threads" if is_kernel else "other_processes"
        spent[key] += delta
    spent["unattributed"] = (machine1 - machine0) - sum(spent.values())
    return Window(
        Side(ours_s, *_memory(workers)),
        Side(base_s, *_memory(baseline)),
        elapsed,
        {key: round(100 * value / elapsed, 1) for key, value in spent.items()},
    )


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def start_simulator(count: int, port: int, resolution: str) -> subprocess.Popen[bytes]:
    busy = [p for p in range(port - 1, port + count) if not _port_free(p)]
    if busy:  # else we would record someone else's cameras, or nothing
        raise RuntimeError(f"ports already in use: {busy[:5]}; choose another --port")
    command = [
        sys.executable,
        "-m",
        "wardwatch.cli",
        "sim",
        "cameras",
        "--count",
        str(count),
        "--port",
        str(port),
        "--resolution",
        resolution,
        "--sub",
        "none",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300  # first run encodes the scene loops
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the camera simulator exited")
        if all(not _port_free(port + i) for i in range(count)):
            return process
        time.sleep(0.5)
    process.kill()
    raise RuntimeError("the camera simulator did not start")


def check_segment(
    path: Path, segment: SegmentEvent, segment_seconds: float, frame_seconds: float
) -> str | None:
    """Why a finished segment is not what its index entry promises, or None when it is."""
    try:
        if path.stat().st_size != segment.bytes:
            return "size differs from the index"
        with path.open("rb") as handle:
            if hashlib.file_digest(handle, "sha256").hexdigest() != segment.sha256:
                return "SHA-256 differs from the index"
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            first = next(p for p in container.demux(stream) if p.size)
            if not first.is_keyframe:
                return "does not start with a keyframe"
            container.seek(0)
            if not next(container.decode(stream)).key_frame:
                return "the first keyframe does not decode"
            seconds = (
                float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
            )
    except (av.error.FFmpegError, StopIteration, OSError):
        return "unreadable"
    indexed = (segment.end - segment.start).total_seconds()
    if abs(seconds - indexed) > frame_seconds + 0.01:
        return "duration differs from the index"
    full = indexed >= segment_seconds - frame_seconds / 2
    if full and abs(indexed - segment_seconds) > frame_seconds + 0.01:
        return "a full segment of the wrong length"
    return None


@dataclass
class Run:
    """What our recorder reported, and when the window opened and the recorder was stopped."""

    root: Path
    events: list[Event]
    window_start: datetime
    stopped_at: datetime
    online: int


def _start_ours(urls: list[str], root: Path, segment_seconds: float, workers: int) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    jobs = [
        CameraJob(f"cam{i:03d}", "bench", url, None, None, segment_seconds=segment_seconds)
        for i, url in enumerate(urls)
    ]
    supervisor = RecorderSupervisor(root, events.append, lambda: jobs, workers=workers)
    supervisor.start()
    return supervisor, events


def _start_baseline(
    urls: list[str], root: Path, segment_seconds: float
) -> tuple[list[subprocess.Popen[bytes]], list[Path]]:
    processes, targets = [], []
    for index, url in enumerate(urls):
        target = root / f"cam{index:03d}"
        target.mkdir(parents=True)
        targets.append(target)
        processes.append(
            subprocess.Popen(
                [
                    "ffmpeg",
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-rtsp_transport",
                    "tcp",
                    "-i",
                    url,
                    "-c",
                    "copy",
                    "-f",
                    "segment",
                    "-segment_time",
                    str(segment_seconds),
                    "-segment_format",
                    "mp4",
                    "-reset_timestamps",
                    "1",
                    str(target / "%05d.mp4"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return processes, targets


def _stop_baseline(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _record_both(
    urls: list[str], scratch: Path, seconds: float, segment_seconds: float, simulator: int, workers: int
) -> tuple[Window, Run, int]:
    supervisor, events = _start_ours(urls, scratch / "ours", segment_seconds, workers)
    processes: list[subprocess.Popen[bytes]] = []
    online: set[str] = set()
    try:
        processes, targets = _start_baseline(urls, scratch / "baseline", segment_seconds)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            online = {
                e.camera_id for e in events if isinstance(e, StatusEvent) and e.status == StreamStatus.ONLINE
            }
            if len(online) == len(urls) and all(any(t.iterdir()) for t in targets):
                break
            time.sleep(0.5)
        time.sleep(SETTLE_S)
        window_start = datetime.now(UTC)
        workers_pids = supervisor.worker_pids()
        window = _measure(
            [*workers_pids, os.getpid()], workers_pids, [p.pid for p in processes], simulator, seconds
        )
    finally:
        stopped_at = datetime.now(UTC)
        supervisor.stop()
        _stop_baseline(processes)
    # The last file of each camera was cut short by the stop.
    complete = sum(max(0, len(list(t.glob("*.mp4"))) - 1) for t in targets)
    return window, Run(scratch / "ours", events, window_start, stopped_at, len(online)), complete


def _tally(run: Run, cameras: int, segment_seconds: float, fps: int) -> dict[str, Any]:
    frame = 1 / fps
    expected = complete = corrupt = 0
    problems: dict[str, int] = {}
    segments = [e for e in run.events if isinstance(e, SegmentEvent)]
    for segment in segments:
        problem = check_segment(run.root / segment.path, segment, segment_seconds, frame)
        if problem is not None:
            corrupt += 1
            problems[problem] = problems.get(problem, 0) + 1
    horizon = run.stopped_at - timedelta(seconds=STOP_SLACK_S)
    for index in range(cameras):
        mine = sorted((s for s in segments if s.camera_id == f"cam{index:03d}"), key=lambda s: s.start)
        anchor = min([run.window_start, *(s.start for s in mine[:1])])
        expected += int((horizon - anchor).total_seconds() // segment_seconds)
        complete += sum(
            1
            for s in mine
            if s.end <= horizon and (s.end - s.start).total_seconds() >= segment_seconds - frame / 2
        )
    return {
        "segments_expected": expected,
        "segments_complete": complete,
        "segments_corrupt": corrupt,
        "segments_checked": len(segments),
        "corrupt_reasons": problems,
    }


def _stream_errors(run: Run) -> dict[str, int]:
    """Gaps, and every status but recording (or stopped at the end), by reason."""
    counts: dict[str, int] = {}
    for event in run.events:
        if isinstance(event, StatusEvent) and event.status not in (StreamStatus.ONLINE, StreamStatus.STOPPED):
            key = f"{event.status.value}: {event.reason}"
        elif isinstance(event, GapEvent):
            key = f"gap: {event.reason}"
        else:
            continue
        counts[key] = counts.get(key, 0) + 1
    return counts


def _ratio(ours: float, base: float) -> float | None:
    return round(ours / base, 3) if base else None


def run_record_bench(
    *,
    cameras: int,
    seconds: float,
    resolution: str = "1080p",
    port: int = 18554,
    segment_seconds: float = 10.0,
    fps: int = 25,
    workers: int = 2,
) -> dict[str, Any]:
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("the baseline needs the ffmpeg command (installed by scripts/setup.sh)")
    scratch = Path(tempfile.mkdtemp(prefix="wardwatch-bench-record-"))
    simulator = start_simulator(cameras, port, resolution)
    try:
        urls = [f"rtsp://127.0.0.1:{port + i}/main" for i in range(cameras)]
        window, run, baseline_complete = _record_both(
            urls, scratch, seconds, segment_seconds, simulator.pid, workers
        )
        tally = _tally(run, cameras, segment_seconds, fps)
        errors = _stream_errors(run)
    finally:
        simulator.send_signal(signal.SIGINT)
        try:
            simulator.wait(timeout=20)
        except subprocess.TimeoutExpired:
            simulator.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    per_stream = 100 / window.seconds / cameras
    cpu_ours, cpu_base = window.ours.cpu_s * per_stream, window.baseline.cpu_s * per_stream
    rss_ours, rss_base = window.ours.rss_mb / cameras, window.baseline.rss_mb / cameras
    pss_ours, pss_base = window.ours.pss_mb / cameras, window.baseline.pss_mb / cameras
    result: dict[str, Any] = {
        "benchmark": "record",
        "cameras": cameras,
        "seconds": round(window.seconds, 1),
        "resolution": resolution,
        "segment_seconds": segment_seconds,
        "recorder_workers": workers,
        "schedule": "both sides at once, same cameras, one window",
        **{k: v for k, v in tally.items() if k != "corrupt_reasons"},
        "cpu_per_stream_pct": round(cpu_ours, 3),
        "rss_mb_per_stream": round(rss_ours, 2),
        "baseline": "one ffmpeg -c copy -f segment process per camera (Frigate, Viseron)",
        "baseline_cpu_per_stream_pct": round(cpu_base, 3),
        "baseline_rss_mb_per_stream": round(rss_base, 2),
        "cpu_ratio": _ratio(cpu_ours, cpu_base),
        "rss_ratio": _ratio(rss_ours, rss_base),
        "pss_mb_per_stream": round(pss_ours, 2),
        "baseline_pss_mb_per_stream": round(pss_base, 2),
        "pss_ratio": _ratio(pss_ours, pss_base),
        "window_cpu_pct": window.breakdown,
        "cameras_online": run.online,
        "stream_errors": sum(errors.values()),
        "baseline_segments_complete": baseline_complete,
        "targets": TARGETS,
    }
    if errors:
        result["stream_error_reasons"] = errors
    if tally["corrupt_reasons"]:
        result["corrupt_reasons"] = tally["corrupt_reasons"]
    result["meets_targets"] = {
        "segments": tally["segments_complete"] == tally["segments_expected"]
        and tally["segments_corrupt"] == 0,
        "cpu_ratio": result["cpu_ratio"] is not None and result["cpu_ratio"] <= TARGETS["cpu_ratio"],
        "rss_ratio": result["rss_ratio"] is not None and result["rss_ratio"] <= TARGETS["rss_ratio"],
    }
    return result
