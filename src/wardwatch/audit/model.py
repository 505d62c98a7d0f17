"""What an audit entry is and exactly which bytes are hashed for it.

The leaf encoding is deliberately simple so an auditor can re-implement it anywhere:

    ww-audit-1\\n<seq>\\n<time in µs since epoch>\\n
    then for each of actor, actor_name, action, object_type, object_id, scope, purpose,
    outcome, request_id, details:  <length in UTF-8 bytes>:<UTF-8 value>\\n

The leaf hash is SHA-256(0x00 || UTF-8(encoding)), an RFC 6962 leaf. The sequence number
is part of the leaf, so moving an entry changes its hash. ``details`` is canonical JSON
(sorted keys, no spaces) or empty. This module stays import-light: verification workers
load it in fresh processes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

LEAF_FORMAT = b"ww-audit-1\n%d\n%d\n" + b"%d:%s\n" * 10
ENTRY_MAC_PREFIX = b"ww-audit-entry-1"
HEAD_MAC_PREFIX = b"ww-audit-head-1"
NODE_STORE_MIN_LEVEL = 8
"""Perfect subtrees of 256 leaves and up are stored, so proofs never hash more than 255 leaves."""

OUTCOMES = ("success", "denied", "failure")

_sha256 = hashlib.sha256


def canonical_details(details: dict[str, Any] | None) -> str:
    if not details:
        return ""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What a use case asks to be recorded; the log adds sequence, time and actor."""

    action: str
    object_type: str
    object_id: str
    scope: str = ""
    outcome: str = "success"
    purpose: str = ""
    details: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown audit outcome {self.outcome!r}")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored entry, exactly as hashed."""

    seq: int
    ts_us: int
    actor: str
    actor_name: str
    action: str
    object_type: str
    object_id: str
    scope: str
    purpose: str
    outcome: str
    request_id: str
    details: str

    def fields(self) -> tuple[Any, ...]:
        return (
            self.seq,
            self.ts_us,
            self.actor,
            self.actor_name,
            self.action,
            self.object_type,
            self.object_id,
            self.scope,
            self.purpose,
            self.outcome,
            self.request_id,
            self.details,
        )

    def leaf_hash(self) -> bytes:
        return leaf_hash_of(*self.fields())


def leaf_hash_of(
    seq: int,
    ts_us: int,
    actor: str,
    actor_name: str,
    action: str,
    object_type: str,
    object_id: str,
    scope: str,
    purpose: str,
    outcome: str,
    request_id: str,
    details: str,
) -> bytes:
    fields = (actor, actor_name, action, object_type, object_id, scope, purpose, outcome, request_id, details)
    args: list[int | bytes] = [seq, ts_us]
    for field in fields:
        raw = field.encode()
        args += (len(raw), raw)
    return _sha256(b"\x00" + LEAF_FORMAT % tuple(args)).digest()


def entry_mac_message(seq: int, leaf_hash: bytes) -> bytes:
    return ENTRY_MAC_PREFIX + seq.to_bytes(8, "big") + leaf_hash


def head_mac_message(size: int, frontier: bytes) -> bytes:
    return HEAD_MAC_PREFIX + size.to_bytes(8, "big") + frontier
