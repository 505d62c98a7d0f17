"""Views of the audit log for auditors."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class EntryView(BaseModel):
    seq: int
    time: datetime
    actor: str
    actor_name: str
    action: str
    object_type: str
    object_id: str
    scope: str
    purpose: str
    outcome: str
    request_id: str
    details: dict[str, object] | None
    leaf_hash: str


class CheckpointView(BaseModel):
    size: int
    root_hash: str
    note: str
    created_at: datetime
    verifier_key: str


class InclusionProofView(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    proof: list[str]


class ConsistencyProofView(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]


class VerifyResult(BaseModel):
    ok: bool
    entries: int
    head_size: int
    root: str
    checkpoint_size: int | None
    first_bad_seq: int | None
    bad_range: tuple[int, int] | None
    code: str | None
    message: str
    seconds: float
    warnings: list[str]


class VerifyRequest(BaseModel):
    """Optionally, a signed checkpoint (C2SP note) a witness kept, to hold the log to."""

    model_config = ConfigDict(extra="forbid")
    checkpoint: str | None = Field(None, max_length=10_000)
