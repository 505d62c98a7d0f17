"""Reading the box structure of fragmented MP4 files, for crash recovery.

A segment is ``ftyp``, ``moov``, then ``moof``+``mdat`` pairs, one per fragment (a second
of video). A recorder killed mid-write leaves a file whose last fragment may be cut short;
recovery keeps every complete fragment and drops the rest.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Box:
    kind: str
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


def top_level_boxes(path: Path) -> tuple[list[Box], int]:
    """Complete top-level boxes in order, and the file size (a cut-off box is not listed)."""
    boxes: list[Box] = []
    with path.open("rb") as handle:
        handle.seek(0, 2)
        length = handle.tell()
        offset = 0
        while offset + 8 <= length:
            handle.seek(offset)
            header = handle.read(16)
            size, kind_raw = struct.unpack(">I4s", header[:8])
            if size == 1 and len(header) >= 16:
                (size,) = struct.unpack(">Q", header[8:16])
            elif size == 0:
                size = length - offset  # "to end of file"; only valid for the last box
            if size < 8 or offset + size > length:
                break
            boxes.append(Box(kind_raw.decode("latin-1"), offset, size))
            offset += size
    return boxes, length


def complete_length(boxes: list[Box]) -> int | None:
    """Bytes holding ``ftyp``, ``moov`` and only whole ``moof``+``mdat`` fragments.

    None when not even the header and one fragment are complete.
    """
    kinds = [box.kind for box in boxes]
    if len(kinds) < 2 or kinds[0] != "ftyp" or "moov" not in kinds[:3]:
        return None
    end = None
    for index, box in enumerate(boxes):
        if box.kind == "moof" and index + 1 < len(boxes) and boxes[index + 1].kind == "mdat":
            end = boxes[index + 1].end
    return end
