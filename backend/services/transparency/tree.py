"""Merkle tree math of RFC 9162 §2.1, with no database: hashes, roots, inclusion and consistency proofs.

A *node* ``(level, index)`` is the complete subtree of ``2**level`` leaves starting at leaf
``index << level``; level 0 is a leaf hash. Every range the RFC's recursion visits starts at a
multiple of a power of two at least as large as the range, so its hash (``range_hash``) is a fold of
at most log2(n) complete subtrees. The log stores each complete subtree once, when its last leaf is
appended (``completed_nodes``); a root or a proof then reads O(log n) stored nodes, whatever n is.

The functions take ``get(level, index) -> bytes``. They never branch on hash values, so running one
with a recording getter (``nodes_needed``) names exactly the nodes to fetch before running it for real.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

NodeGetter = Callable[[int, int], bytes]
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = HASH()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(leaves: Sequence[bytes]) -> bytes:
    """MTH of leaf hashes, straight from the RFC's recursive definition (for tests and small trees)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """The complete subtrees that make up leaves [start, end), largest first."""
    out = []
    pos, size = start, end - start
    while size > 0:
        level = size.bit_length() - 1
        if pos & ((1 << level) - 1):
            raise ValueError(f"range [{start}, {end}) is not aligned")
        out.append((level, pos >> level))
        pos += 1 << level
        size -= 1 << level
    return out


def range_hash(start: int, end: int, get: NodeGetter) -> bytes:
    """MTH(D[start:end]) for an aligned range (every range RFC 9162's recursion visits)."""
    if end <= start:
        raise ValueError("empty range")
    hashes = [get(level, index) for level, index in subtrees(start, end)]
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root(size: int, get: NodeGetter) -> bytes:
    return EMPTY_ROOT if size == 0 else range_hash(0, size, get)


def inclusion_path(index: int, size: int, get: NodeGetter) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, innermost sibling first."""
    if not 0 <= index < size:
        raise ValueError("leaf index must be below the tree size")
    outer_first = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            outer_first.append(range_hash(start + k, end, get))
            end = start + k
        else:
            outer_first.append(range_hash(start, start + k, get))
            start += k
    return outer_first[::-1]


def consistency_path(first: int, second: int, get: NodeGetter) -> list[bytes]:
    """PROOF(first, D[second]) = SUBPROOF(first, D[second], true) of RFC 9162 §2.1.4.1."""
    if not 0 < first <= second:
        raise ValueError("need 0 < first <= second")
    outer_first = []
    m, start, end, whole = first, 0, second, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                outer_first.append(range_hash(start, end, get))
            break
        k = split_point(n)
        if m <= k:
            outer_first.append(range_hash(start + k, end, get))
            end = start + k
        else:
            outer_first.append(range_hash(start, start + k, get))
            start += k
            m -= k
            whole = False
    return outer_first[::-1]


def completed_nodes(index: int, leaf: bytes, get: NodeGetter) -> list[bytes]:
    """Hashes of the complete subtrees that leaf ``index`` completes, levels 1, 2, … (its left
    siblings come from ``get``: they are the newest peaks of the tree of size ``index``)."""
    out = []
    acc, level, pos = leaf, 0, index
    while pos & 1:
        acc = node_hash(get(level, pos - 1), acc)
        level += 1
        pos >>= 1
        out.append(acc)
    return out


def nodes_needed(run: Callable[[NodeGetter], object]) -> set[tuple[int, int]]:
    """The nodes ``run`` reads: it is called once with a getter that records and returns zeros."""
    seen: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        seen.add((level, index))
        return bytes(HASH_SIZE)

    run(record)
    return seen


def _ranges_nodes(ranges: list[tuple[int, int]]) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for start, end in ranges:
        out.update(subtrees(start, end))
    return out


def root_nodes(size: int) -> set[tuple[int, int]]:
    """The stored nodes ``root(size)`` reads (the peaks), without hashing anything."""
    return _ranges_nodes([(0, size)]) if size else set()


def inclusion_nodes(index: int, size: int) -> set[tuple[int, int]]:
    """The stored nodes ``inclusion_path(index, size)`` reads: the same walk, without hashing."""
    ranges = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return _ranges_nodes(ranges)


def consistency_nodes(first: int, second: int) -> set[tuple[int, int]]:
    """The stored nodes ``consistency_path(first, second)`` reads: the same walk, without hashing."""
    ranges = []
    m, start, end, whole = first, 0, second, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            whole = False
    if not whole:
        ranges.append((start, end))
    return _ranges_nodes(ranges)


def last_leaf_of(level: int, index: int) -> int:
    """The leaf whose append completed node (level, index): where the log stores that node."""
    return ((index + 1) << level) - 1


class Peaks:
    """A growing tree held as its complete-subtree peaks (a compact range), for streaming audits:
    ``push`` returns the nodes the new leaf completes; ``root`` is MTH of everything pushed."""

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[bytes] = []  # peak hashes, largest (leftmost) first

    def push(self, leaf: bytes) -> list[bytes]:
        out = []
        acc, pos = leaf, self.size
        while pos & 1:
            acc = node_hash(self.stack.pop(), acc)
            pos >>= 1
            out.append(acc)
        self.stack.append(acc)
        self.size += 1
        return out

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        acc = self.stack[-1]
        for h in reversed(self.stack[:-1]):
            acc = node_hash(h, acc)
        return acc
