"""The capture time of each simulated frame, carried in the bitstream as an SEI message.

A user-data-unregistered SEI (payload type 5) with WardWatch's UUID and the wall-clock
time in microseconds precedes the first slice of every access unit. The live-view path
reads it back, so end-to-end latency can be measured exactly instead of by reading the
burned-in clock.
"""

from __future__ import annotations

import re
import struct
import uuid

FRAME_TIME_UUID = uuid.UUID("5f0e1a3c-8d2b-4c6e-9a71-77617264773e").bytes
_EPB = re.compile(rb"\x00\x00(?=[\x00-\x03])")
_START = b"\x00\x00\x00\x01"


def frame_time_sei(micros: int) -> bytes:
    """An Annex B SEI NAL unit (with start code) carrying ``micros``."""
    payload = FRAME_TIME_UUID + struct.pack(">Q", micros)
    rbsp = bytes([5, len(payload)]) + payload + b"\x80"
    return _START + b"\x06" + _EPB.sub(b"\x00\x00\x03", rbsp)


def read_frame_time(access_unit: bytes) -> int | None:
    """The capture time from an access unit (Annex B or length-prefixed), if it has one."""
    at = access_unit.find(FRAME_TIME_UUID)
    if at < 0:
        return None
    raw = access_unit[at + 16 : at + 16 + 12].replace(b"\x00\x00\x03", b"\x00\x00")
    if len(raw) < 8:
        return None
    return int(struct.unpack(">Q", raw[:8])[0])


def insert_before_first_slice(access_unit: bytes, nal: bytes) -> bytes:
    """Put ``nal`` (with start code) right before the first VCL NAL of an Annex B unit."""
    pos = 0
    while True:
        at = access_unit.find(b"\x00\x00\x01", pos)
        if at < 0:
            return access_unit + nal
        header = access_unit[at + 3] & 0x1F
        if 1 <= header <= 5:
            start = at - 1 if at > 0 and access_unit[at - 1] == 0 else at
            return access_unit[:start] + nal + access_unit[start:]
        pos = at + 3
