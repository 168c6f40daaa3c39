"""The log's proofs, checked by an independent verifier written from RFC 9162 (tests/support/rfc6962.py).

The verifier is tested first on its own (the RFC 6962 test vectors, and every malformed proof it
must refuse), then it checks the service: every inclusion and consistency proof the log serves
for random sizes of a log of a few thousand leaves, on SQLite and on PostgreSQL, and every root
against the naive recursive MTH.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise.transactions import in_transaction

from backend.db import init_orm
from backend.services.transparency import log
from backend.services.transparency import tree as service_tree
from tests.conftest import fresh_pg_database, make_settings
from tests.support.rfc6962 import ProofError, leaf_hash, naive_mth, verify_consistency, verify_inclusion

# RFC 6962 / Certificate Transparency test vectors: eight leaves and the root of each prefix.
CT_LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43", bytes(range(0x50, 0x58)),
             bytes(range(0x60, 0x70))]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEAVES = [leaf_hash(x) for x in CT_LEAVES]


class MemoryTree:
    """The service's tree math over an in-memory node store (no database)."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        for i, h in enumerate(leaves):
            self.nodes[(0, i)] = h
            for level, node in enumerate(service_tree.completed_nodes(i, h, self.get), 1):
                self.nodes[(level, i >> level)] = node

    def get(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]


CT = MemoryTree(LEAVES)


def test_the_independent_mth_and_the_service_give_the_rfc_6962_test_vector_roots():
    for n in range(1, 9):
        assert naive_mth(LEAVES[:n]).hex() == CT_ROOTS[n - 1]
        assert service_tree.root(n, CT.get).hex() == CT_ROOTS[n - 1]
    assert service_tree.root(0, CT.get) == naive_mth([])


def test_every_proof_of_the_eight_leaf_tree_verifies():
    for size in range(1, 9):
        root = bytes.fromhex(CT_ROOTS[size - 1])
        for index in range(size):
            verify_inclusion(LEAVES[index], index, size, service_tree.inclusion_path(index, size, CT.get), root)
        for first in range(1, size + 1):
            verify_consistency(first, size, bytes.fromhex(CT_ROOTS[first - 1]), root,
                               service_tree.consistency_path(first, size, CT.get))


def _inclusion(index: int = 5, size: int = 8) -> tuple[bytes, int, int, list[bytes], bytes]:
    return LEAVES[index], index, size, service_tree.inclusion_path(index, size, CT.get), \
        bytes.fromhex(CT_ROOTS[size - 1])


def _consistency(first: int = 3, second: int = 7) -> tuple[int, int, bytes, bytes, list[bytes]]:
    return first, second, bytes.fromhex(CT_ROOTS[first - 1]), bytes.fromhex(CT_ROOTS[second - 1]), \
        service_tree.consistency_path(first, second, CT.get)


def _refused(check, *args):  # type: ignore[no-untyped-def]
    with pytest.raises(ProofError):
        check(*args)


def test_malformed_inclusion_proofs_are_refused():
    leaf, index, size, path, root = _inclusion()
    verify_inclusion(leaf, index, size, path, root)
    _refused(verify_inclusion, leaf, 8, 8, path, root)  # index == size
    _refused(verify_inclusion, leaf, 9, 8, path, root)  # index > size
    _refused(verify_inclusion, leaf, 0, 0, [], naive_mth([]))  # the empty tree includes nothing
    _refused(verify_inclusion, leaf, -1, 8, path, root)
    _refused(verify_inclusion, leaf, index, size, path[:-1], root)  # a hash missing
    _refused(verify_inclusion, leaf, index, size, [*path, path[-1]], root)  # a hash too many
    _refused(verify_inclusion, leaf, index, size, [path[0], *path], root)
    _refused(verify_inclusion, leaf, index, size, path[::-1], root)  # order matters
    _refused(verify_inclusion, leaf, index, size, [path[0][:31], *path[1:]], root)  # short hash
    _refused(verify_inclusion, leaf, index, size, [*path[:-1], bytes(32)], root)  # forged hash
    _refused(verify_inclusion, LEAVES[4], index, size, path, root)  # another leaf
    _refused(verify_inclusion, leaf, 4, size, path, root)  # another index
    # One proof for several sizes (certificate-transparency-rfcs PR #100): the size-8 path against the
    # root a size-7 checkpoint signs. (With the size-8 root it still computes: size and root must both
    # come from the same signed checkpoint, never from the proof's sender.)
    _refused(verify_inclusion, leaf, index, 7, path, bytes.fromhex(CT_ROOTS[6]))
    _refused(verify_inclusion, leaf, True, size, path, root)  # booleans are not indexes
    # A one-leaf tree: the leaf is the root and the path is empty.
    verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[0])
    _refused(verify_inclusion, LEAVES[0], 0, 1, [LEAVES[1]], LEAVES[0])


def test_malformed_consistency_proofs_are_refused():
    first, second, r1, r2, proof = _consistency()
    verify_consistency(first, second, r1, r2, proof)
    _refused(verify_consistency, second, first, r2, r1, proof)  # sizes out of order
    _refused(verify_consistency, 0, second, naive_mth([]), r2, proof)  # first == 0 (merkle PR #236)
    _refused(verify_consistency, 0, second, naive_mth([]), r2, [])
    _refused(verify_consistency, 0, 0, naive_mth([]), naive_mth([]), [])  # empty trees
    _refused(verify_consistency, first, second, r1, r2, [])  # nothing at all
    _refused(verify_consistency, first, second, r1, r2, proof[:-1])  # a hash missing
    _refused(verify_consistency, first, second, r1, r2, [*proof, proof[-1]])  # a hash too many
    _refused(verify_consistency, first, second, r1, r2, proof[::-1])
    _refused(verify_consistency, first, second, r1, r2, [bytes(32), *proof[1:]])
    _refused(verify_consistency, first, second, r2, r2, proof)  # the old root must be the one held
    _refused(verify_consistency, first, second, r1, r1, proof)
    _refused(verify_consistency, first, 8, r1, bytes.fromhex(CT_ROOTS[7]), proof)  # another size
    _refused(verify_consistency, 2, second, bytes.fromhex(CT_ROOTS[1]), r2, proof)
    # Equal sizes: an empty proof and equal roots, nothing else.
    verify_consistency(5, 5, bytes.fromhex(CT_ROOTS[4]), bytes.fromhex(CT_ROOTS[4]), [])
    _refused(verify_consistency, 5, 5, bytes.fromhex(CT_ROOTS[4]), bytes.fromhex(CT_ROOTS[4]), [LEAVES[0]])
    _refused(verify_consistency, 5, 5, bytes.fromhex(CT_ROOTS[4]), r2, [])
    # Power-of-two first size: the proof omits the first root, which the verifier prepends itself.
    f4 = service_tree.consistency_path(4, 8, CT.get)
    verify_consistency(4, 8, bytes.fromhex(CT_ROOTS[3]), bytes.fromhex(CT_ROOTS[7]), f4)
    _refused(verify_consistency, 4, 8, bytes.fromhex(CT_ROOTS[3]), bytes.fromhex(CT_ROOTS[7]),
             [bytes.fromhex(CT_ROOTS[3]), *f4])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=300), st.data())
def test_the_tree_math_agrees_with_the_independent_verifier(leaves, data):
    hashes = [leaf_hash(x) for x in leaves]
    t = MemoryTree(hashes)
    size = data.draw(st.integers(1, len(hashes)))
    index = data.draw(st.integers(0, size - 1))
    first = data.draw(st.integers(1, size))
    root = naive_mth(hashes[:size])
    assert service_tree.root(size, t.get) == root
    verify_inclusion(hashes[index], index, size, service_tree.inclusion_path(index, size, t.get), root)
    verify_consistency(first, size, naive_mth(hashes[:first]), root,
                       service_tree.consistency_path(first, size, t.get))


# --- the service, on both databases ----------------------------------------------------------------

SIZE = 2500


@pytest.fixture(params=["sqlite", "postgres"])
def filled_log(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
               ) -> Iterator[tuple[asyncio.AbstractEventLoop, list[bytes]]]:
    """A log of SIZE leaves on a fresh database, and an event loop its ORM lives on."""
    if request.param == "sqlite":
        shutil.copy(sqlite_template, tmp_path / "log.sqlite3")
        url = f"sqlite://{tmp_path}/log.sqlite3"
    else:
        url = fresh_pg_database(request.getfixturevalue("pg_server"))
    loop = asyncio.new_event_loop()
    ctx = loop.run_until_complete(init_orm(make_settings(url, tmp_path / "data")))

    async def fill() -> list[bytes]:
        hashes = []
        agency = uuid.uuid4()
        async with in_transaction():
            for i in range(SIZE):
                leaf = await log.append("case_record", {"seq": i, "text": f"第{i}步"}, agency_id=agency, ref=str(i))
                assert leaf.leaf_index == i
                hashes.append(bytes.fromhex(leaf.leaf_hash))
        return hashes

    try:
        yield loop, loop.run_until_complete(fill())
    finally:
        loop.run_until_complete(ctx.close_connections())
        loop.close()


def test_every_proof_the_service_serves_verifies_independently(filled_log):
    loop, hashes = filled_log
    # Prefix roots by the naive recursion, cached: sizes repeat across examples.
    roots: dict[int, bytes] = {}

    def root_of(n: int) -> bytes:
        if n not in roots:
            roots[n] = naive_mth(hashes[:n])
        return roots[n]

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data: st.DataObject) -> None:
        size = data.draw(st.integers(1, SIZE), label="size")
        index = data.draw(st.integers(0, size - 1), label="index")
        first = data.draw(st.integers(1, size), label="first")
        p = loop.run_until_complete(log.inclusion_proof(index, size))
        assert bytes.fromhex(p.leaf_hash) == hashes[index]
        assert bytes.fromhex(p.root_hash) == root_of(size)
        verify_inclusion(hashes[index], index, size, [bytes.fromhex(h) for h in p.audit_path], root_of(size))
        c = loop.run_until_complete(log.consistency_proof(first, size))
        assert (bytes.fromhex(c.first_root), bytes.fromhex(c.second_root)) == (root_of(first), root_of(size))
        verify_consistency(first, size, root_of(first), root_of(size), [bytes.fromhex(h) for h in c.proof])

    check()
    for size in (1, 2, 3, 1024, 1025, SIZE - 1, SIZE):  # the edges, every time
        assert loop.run_until_complete(log.root_at(size)) == root_of(size)
        verify_inclusion(hashes[size - 1], size - 1, size,
                         [bytes.fromhex(h) for h in loop.run_until_complete(log.inclusion_proof(size - 1, size))
                          .audit_path], root_of(size))


def test_the_nodes_a_proof_reads_are_named_before_reading_them():
    for size in range(1, 70):
        assert service_tree.root_nodes(size) == service_tree.nodes_needed(lambda g, n=size: service_tree.root(n, g))
        for index in range(size):
            assert service_tree.inclusion_nodes(index, size) == service_tree.nodes_needed(
                lambda g, i=index, n=size: service_tree.inclusion_path(i, n, g))
        for first in range(1, size + 1):
            assert service_tree.consistency_nodes(first, size) == service_tree.nodes_needed(
                lambda g, m=first, n=size: service_tree.consistency_path(m, n, g))
