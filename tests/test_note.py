"""Signed notes and checkpoints interoperate with the Go sumdb/note reference."""

from __future__ import annotations

import pytest

from wardwatch.audit.note import Checkpoint, NoteError, Signer, Verifier, open_checkpoint, open_note

# From golang.org/x/mod/sumdb/note (note_test.go): Ed25519 is deterministic, so our signer
# must reproduce the published note byte for byte.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_NOTE = GO_TEXT + (
    "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2p"
    "ZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_signer_reproduces_the_go_reference_note_byte_for_byte() -> None:
    signer = Signer.parse(GO_SKEY)
    assert signer.verifier.encode() == GO_VKEY
    assert signer.encode() == GO_SKEY
    assert signer.sign(GO_TEXT) == GO_NOTE
    assert open_note(GO_NOTE, Verifier.parse(GO_VKEY)) == GO_TEXT


def test_altered_notes_and_wrong_keys_are_refused() -> None:
    verifier = Verifier.parse(GO_VKEY)
    with pytest.raises(NoteError):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), verifier)
    with pytest.raises(NoteError):
        open_note(GO_NOTE, Signer.generate("PeterNeumann").verifier)
    with pytest.raises(NoteError):
        Verifier.parse(GO_VKEY.replace("c74f20a3", "c74f20a4"))


def test_checkpoint_body_follows_c2sp_layout_and_verifies() -> None:
    signer = Signer.generate("health.example/audit")
    checkpoint = Checkpoint("health.example/audit", 42, bytes(range(32)))
    note = signer.sign(checkpoint.body())
    lines = note.split("\n")
    assert lines[:3] == ["health.example/audit", "42", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="]
    assert lines[3] == "" and lines[4].startswith("\u2014 health.example/audit ")
    assert open_checkpoint(note, signer.verifier) == checkpoint
    with pytest.raises(NoteError):
        open_checkpoint(note.replace("\n42\n", "\n43\n"), signer.verifier)
