"""HMAC-SHA256 from precomputed pad states (RFC 2104), with nothing but hashlib.

Kept apart from ``kernel.crypto`` so audit verification workers can import it without
loading the ``cryptography`` package.
"""

from __future__ import annotations

import hashlib
from typing import Any


def hmac_pads(key: bytes) -> tuple[Any, Any]:
    """The SHA-256 states after absorbing key XOR ipad and key XOR opad."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in block)), hashlib.sha256(bytes(b ^ 0x5C for b in block)))


def hmac_with(pads: tuple[Any, Any], message: bytes) -> bytes:
    inner = pads[0].copy()
    inner.update(message)
    outer = pads[1].copy()
    outer.update(inner.digest())
    digest: bytes = outer.digest()
    return digest
