"""Time-ordered, URL-safe identifiers (ULID layout) shared by every table and event.

Sortable ids keep B-tree inserts local and let an event id double as a rough timestamp.
"""

from __future__ import annotations

import os
import re
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_lock = threading.Lock()
_last: list[int] = [0, 0]


def new_id() -> str:
    """A 26-character ULID: 48 bits of milliseconds, then 80 bits that grow monotonically."""
    with _lock:
        millis = int(time.time() * 1000)
        if millis <= _last[0]:
            millis = _last[0]
            rand = _last[1] + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1
        _last[0], _last[1] = millis, rand
    value = (millis << 80) | (rand & ((1 << 80) - 1))
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_id(text: str) -> bool:
    return bool(_ID_PATTERN.match(text))
