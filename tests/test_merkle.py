"""RFC 6962 hashing and proofs, checked against published test vectors.

The vectors are the ones the Certificate Transparency reference implementation ships and
that transparency-dev/merkle (proof/verify_test.go) reuses: eight leaves, the roots of
every prefix, and known inclusion and consistency proofs.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardwatch.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    ProofError,
    consistency_proof,
    hash_children,
    hash_leaf,
    inclusion_proof,
    root_of,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
INCLUSION = [  # (leaf index, tree size, proof)
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [  # (first size, second size, proof)
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
LEAF_HASHES = [hash_leaf(leaf) for leaf in LEAVES]


def perfect(hashes: list[bytes]):
    return lambda start, end: root_of(hashes[start:end])


def test_leaf_and_node_hashes_use_domain_separation_prefixes() -> None:
    assert hash_leaf(b"x") == hashlib.sha256(b"\x00x").digest()
    assert hash_children(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert root_of([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", range(1, 9))
def test_root_of_every_prefix_matches_published_vector(size: int) -> None:
    assert root_of(LEAF_HASHES[:size]) == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION)
def test_inclusion_proof_matches_published_vector(index: int, size: int, expected: list[str]) -> None:
    proof = inclusion_proof(index, size, perfect(LEAF_HASHES))
    assert [p.hex() for p in proof] == expected
    verify_inclusion(index, size, LEAF_HASHES[index], proof, ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "expected"), CONSISTENCY)
def test_consistency_proof_matches_published_vector(first: int, second: int, expected: list[str]) -> None:
    proof = consistency_proof(first, second, perfect(LEAF_HASHES))
    assert [p.hex() for p in proof] == expected
    verify_consistency(first, second, proof, ROOTS[first - 1], ROOTS[second - 1])


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_corrupted_inclusion_proofs_are_refused(index: int, size: int, proof: list[str]) -> None:
    good = [bytes.fromhex(p) for p in proof]
    root, leaf = ROOTS[size - 1], LEAF_HASHES[index]
    flipped = [bytes([good[0][0] ^ 8]) + good[0][1:], *good[1:]]
    for bad_index, bad_size, bad_proof, bad_root in (
        (index + 1, size, good, root),
        (index, size * 2, good, root),
        (index, size, good[:-1], root),
        (index, size, [*good, root], root),
        (index, size, flipped, root),
        (index, size, good, EMPTY_ROOT),
    ):
        with pytest.raises(ProofError):
            verify_inclusion(bad_index, bad_size, leaf, bad_proof, bad_root)


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_corrupted_consistency_proofs_are_refused(first: int, second: int, proof: list[str]) -> None:
    good = [bytes.fromhex(p) for p in proof]
    r1, r2 = ROOTS[first - 1], ROOTS[second - 1]
    for args in (
        (first, second, good[:-1], r1, r2),
        (first, second, [], r1, r2),
        (first, second, good, r2, r1),
        (first + 1, second, good, r1, r2),
        (first, second, [bytes([good[-1][0] ^ 16]) + good[-1][1:], *good[:-1]][::-1], r1, r2),
    ):
        with pytest.raises(ProofError):
            verify_consistency(*args)


def test_frontier_round_trips_and_reports_completed_subtrees() -> None:
    frontier = Frontier()
    completed = []
    for leaf in LEAF_HASHES:
        completed.extend(frontier.append(leaf))
    assert frontier.root() == ROOTS[7]
    assert (3, 0, ROOTS[7]) in completed
    again = Frontier.from_bytes(frontier.size, frontier.to_bytes())
    assert again.root() == ROOTS[7]
    with pytest.raises(ValueError, match="does not match"):
        Frontier.from_bytes(7, frontier.to_bytes())


@settings(max_examples=60, deadline=None)
@given(size=st.integers(min_value=1, max_value=300), data=st.data())
def test_proofs_from_any_tree_verify_against_its_root(size: int, data: st.DataObject) -> None:
    leaves = [hash_leaf(i.to_bytes(4, "big")) for i in range(size)]
    root = root_of(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    verify_inclusion(index, size, leaves[index], inclusion_proof(index, size, perfect(leaves)), root)
    first = data.draw(st.integers(min_value=1, max_value=size))
    verify_consistency(
        first, size, consistency_proof(first, size, perfect(leaves)), root_of(leaves[:first]), root
    )
