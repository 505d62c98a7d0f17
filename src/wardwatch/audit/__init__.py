"""The tamper-evident audit log: append, checkpoints, proofs, verification."""
