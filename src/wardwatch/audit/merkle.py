"""RFC 6962 Merkle tree hashing, compact ranges, and inclusion/consistency proofs.

Leaves hash as SHA-256(0x00 || data) and interior nodes as SHA-256(0x01 || left || right),
so no leaf can pose as a node. Proof generation follows RFC 6962 section 2.1 (PATH and
SUBPROOF); proof verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2. This module
is pure: where subtree hashes come from is the caller's business (``SubtreeSource``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


def hash_leaf(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The k of RFC 6962: the largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


@dataclass
class Frontier:
    """The compact range [0, size): roots of the perfect subtrees the size decomposes into.

    Appending costs one hash amortised; the root costs one hash per stored node. ``nodes``
    runs from the leftmost (largest) subtree to the rightmost (smallest).
    """

    size: int = 0
    nodes: list[tuple[int, bytes]] = field(default_factory=list)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; returns the perfect subtrees it completed as (level, index, hash)."""
        return self.append_node(0, leaf)

    def append_node(self, level: int, node: bytes) -> list[tuple[int, int, bytes]]:
        """Add a perfect subtree of 2**level leaves; the size must be a multiple of it."""
        if self.size & ((1 << level) - 1):
            raise ValueError("subtree is not aligned with the frontier")
        self.size += 1 << level
        completed: list[tuple[int, int, bytes]] = []
        nodes = self.nodes
        while nodes and nodes[-1][0] == level:
            node = hash_children(nodes.pop()[1], node)
            level += 1
            completed.append((level, (self.size >> level) - 1, node))
        nodes.append((level, node))
        return completed

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        acc = self.nodes[-1][1]
        for _, node in reversed(self.nodes[:-1]):
            acc = hash_children(node, acc)
        return acc

    def copy(self) -> Frontier:
        return Frontier(self.size, list(self.nodes))

    def to_bytes(self) -> bytes:
        return b"".join(node for _, node in self.nodes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> Frontier:
        """Rebuild from ``to_bytes``; the levels follow from the set bits of ``size``."""
        levels = [bit for bit in range(size.bit_length() - 1, -1, -1) if size >> bit & 1]
        if len(data) != HASH_SIZE * len(levels):
            raise ValueError("frontier does not match its size")
        nodes = [(lvl, data[i * HASH_SIZE : (i + 1) * HASH_SIZE]) for i, lvl in enumerate(levels)]
        return cls(size, nodes)


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH over already-hashed leaves."""
    frontier = Frontier()
    for leaf in leaf_hashes:
        frontier.append(leaf)
    return frontier.root()


SubtreeSource = Callable[[int, int], bytes]
"""Returns MTH(D[start:end]) for a perfect, aligned range (end - start a power of two)."""


def subtree_hash(start: int, end: int, perfect: SubtreeSource) -> bytes:
    """MTH(D[start:end]) for any range, built from perfect aligned subtrees."""
    n = end - start
    if n <= 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return perfect(start, end)
    k = largest_power_of_two_below(n)
    return hash_children(subtree_hash(start, start + k, perfect), subtree_hash(start + k, end, perfect))


def inclusion_proof(index: int, size: int, perfect: SubtreeSource) -> list[bytes]:
    """RFC 6962 PATH(index, D[0:size])."""
    if not 0 <= index < size:
        raise ValueError("index outside the tree")
    proof: list[bytes] = []

    def path(m: int, start: int, end: int) -> None:
        n = end - start
        if n == 1:
            return
        k = largest_power_of_two_below(n)
        if m < k:
            path(m, start, start + k)
            proof.append(subtree_hash(start + k, end, perfect))
        else:
            path(m - k, start + k, end)
            proof.append(subtree_hash(start, start + k, perfect))

    path(index, 0, size)
    return proof


def consistency_proof(first: int, second: int, perfect: SubtreeSource) -> list[bytes]:
    """RFC 6962 PROOF(first, D[0:second])."""
    if not 0 < first <= second:
        raise ValueError("sizes must satisfy 0 < first <= second")
    proof: list[bytes] = []

    def subproof(m: int, start: int, end: int, whole: bool) -> None:
        n = end - start
        if m == n:
            if not whole:
                proof.append(subtree_hash(start, end, perfect))
            return
        k = largest_power_of_two_below(n)
        if m <= k:
            subproof(m, start, start + k, whole)
            proof.append(subtree_hash(start + k, end, perfect))
        else:
            subproof(m - k, start + k, end, False)
            proof.append(subtree_hash(start, start + k, perfect))

    subproof(first, 0, second, True)
    return proof


class ProofError(ValueError):
    """A proof that does not hold."""


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.3.2: the root a valid proof leads to."""
    if index >= size:
        raise ProofError("index is beyond the tree size")
    if len(leaf) != HASH_SIZE or any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("malformed hash")
    fn, sn, acc = index, size - 1, leaf
    for node in proof:
        if sn == 0:
            raise ProofError("proof is too long")
        if fn & 1 or fn == sn:
            acc = hash_children(node, acc)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            acc = hash_children(acc, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is too short")
    return acc


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> None:
    """RFC 9162 2.1.4.2; raises ProofError unless the smaller tree is a prefix of the larger."""
    if first > second:
        raise ProofError("the first tree is larger than the second")
    if first == second:
        if proof:
            raise ProofError("proof must be empty for equal sizes")
        if first_root != second_root:
            raise ProofError("roots differ for equal sizes")
        return
    if first == 0:
        if proof:
            raise ProofError("proof must be empty from the empty tree")
        return
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("malformed proof")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofError("proof is too long")
        if fn & 1 or fn == sn:
            fr = hash_children(node, fr)
            sr = hash_children(node, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, node)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise ProofError("consistency proof does not hold")
