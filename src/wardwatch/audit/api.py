"""HTTP routes for auditors: search, checkpoints, proofs, verification."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from wardwatch.api.guard import Caller, GuardedRoute, permission
from wardwatch.audit.schemas import (
    CheckpointView,
    ConsistencyProofView,
    EntryView,
    InclusionProofView,
    VerifyRequest,
    VerifyResult,
)
from wardwatch.kernel.clock import to_micros

MAX_SEQ = 2**63 - 1
"""Sequence numbers and sizes are 64-bit in the database; larger ones are refused as input."""

router = APIRouter(prefix="/api/v1/audit", route_class=GuardedRoute, tags=["audit"])


@router.get("/entries", response_model=list[EntryView])
def search(
    actor: str | None = Query(None, max_length=80),
    action: str | None = Query(None, max_length=80),
    object_type: str | None = Query(None, max_length=60),
    object_id: str | None = Query(None, max_length=200),
    outcome: str | None = Query(None, pattern="^(success|denied|failure)$"),
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = Query(None, ge=0, le=MAX_SEQ),
    limit: int = Query(100, ge=1, le=500),
    caller: Caller = permission("audit.read"),
) -> list[EntryView]:
    return caller.container.audit_service.search(
        caller.principal,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        since_us=to_micros(since) if since and since.tzinfo else None,
        until_us=to_micros(until) if until and until.tzinfo else None,
        before_seq=before,
        limit=limit,
    )


@router.get("/entries/{seq}", response_model=EntryView)
def entry(seq: int = Path(ge=0, le=MAX_SEQ), caller: Caller = permission("audit.read")) -> EntryView:
    return caller.container.audit_service.entry(caller.principal, seq)


@router.get("/checkpoint", response_model=CheckpointView)
def latest_checkpoint(caller: Caller = permission("audit.read")) -> CheckpointView:
    return caller.container.audit_service.latest_checkpoint()


@router.get("/checkpoint.txt", response_class=PlainTextResponse)
def latest_checkpoint_note(caller: Caller = permission("audit.read")) -> str:
    """The latest signed checkpoint in C2SP tlog-checkpoint form, for witnesses to keep."""
    return caller.container.audit_service.latest_checkpoint().note


@router.get("/checkpoints/{size}", response_model=CheckpointView)
def checkpoint_at(
    size: int = Path(ge=0, le=MAX_SEQ), caller: Caller = permission("audit.read")
) -> CheckpointView:
    return caller.container.audit_service.checkpoint_at(size)


@router.post("/checkpoints", response_model=CheckpointView, status_code=201)
def checkpoint_now(caller: Caller = permission("audit.checkpoint")) -> CheckpointView:
    return caller.container.audit_service.checkpoint_now(caller.principal)


@router.get("/public-key", response_class=PlainTextResponse)
def public_key(caller: Caller = permission("audit.read")) -> str:
    """The checkpoint verifier key (``name+id+key``), as the Go note tooling expects."""
    return caller.container.audit.verifier.encode() + "\n"


@router.get("/proofs/inclusion", response_model=InclusionProofView)
def inclusion_proof(
    index: int = Query(ge=0, le=MAX_SEQ),
    size: int | None = Query(None, ge=1, le=MAX_SEQ),
    caller: Caller = permission("audit.read"),
) -> InclusionProofView:
    return caller.container.audit_service.inclusion(caller.principal, index, size)


@router.get("/proofs/consistency", response_model=ConsistencyProofView)
def consistency_proof(
    first: int = Query(ge=1, le=MAX_SEQ),
    second: int = Query(ge=1, le=MAX_SEQ),
    caller: Caller = permission("audit.read"),
) -> ConsistencyProofView:
    return caller.container.audit_service.consistency(first, second)


@router.post("/verify", response_model=VerifyResult)
def verify(body: VerifyRequest, caller: Caller = permission("audit.verify")) -> VerifyResult:
    return caller.container.audit_service.verify_as(caller.principal, body.checkpoint)
