"""An independent verifier of Merkle proofs and signed checkpoints, written from the specifications
(RFC 9162 §2.1.3.2 and §2.1.4.2; C2SP signed-note and tlog-checkpoint) without importing backend code.

Every function raises ``ProofError`` naming the reason, or returns None when the proof holds.
It refuses what verifiers have been caught accepting: an index at or past the size (pymerkle only
checked it when asked), a proof with extra or missing hashes, sizes out of order, a first size of 0
(transparency-dev/merkle PR #236), one proof for several sizes (certificate-transparency-rfcs PR
#100), hashes of the wrong length, and a proof that only checks out without the old root (immudb
GO-2022-1117 accepted forged proofs whose internal consistency was never tied to the roots held).
"""

from __future__ import annotations

import base64
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class ProofError(ValueError):
    pass


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(data: bytes) -> bytes:
    return _h(b"\x00" + data)


def naive_mth(leaf_hashes: list[bytes]) -> bytes:
    """MTH by the RFC's recursive definition, over leaf hashes."""
    n = len(leaf_hashes)
    if n == 0:
        return _h(b"")
    if n == 1:
        return leaf_hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + naive_mth(leaf_hashes[:k]) + naive_mth(leaf_hashes[k:]))


def _check_size(name: str, value: object) -> int:
    if type(value) is not int or value < 0:
        raise ProofError(f"{name} must be a non-negative integer")
    return value


def _check_hashes(name: str, hashes: object) -> list[bytes]:
    if not isinstance(hashes, list | tuple):
        raise ProofError(f"{name} must be a list")
    for h in hashes:
        if not isinstance(h, bytes) or len(h) != 32:
            raise ProofError(f"{name}: every hash must be 32 bytes")
    return list(hashes)


def inclusion_length(index: int, size: int) -> int:
    """How many hashes PATH(index, D[size]) has, counted by walking the RFC's recursion."""
    length = 0
    while size > 1:
        k = 1
        while k * 2 < size:
            k *= 2
        if index < k:
            size = k
        else:
            index, size = index - k, size - k
        length += 1
    return length


def consistency_length(first: int, second: int) -> int:
    length, whole = 0, True
    m, n = first, second
    while m != n:
        k = 1
        while k * 2 < n:
            k *= 2
        if m <= k:
            n = k
        else:
            m, n, whole = m - k, n - k, False
        length += 1
    return length + (0 if whole else 1)


def verify_inclusion(leaf: bytes, leaf_index: int, tree_size: int, path: list[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2."""
    _check_size("leaf_index", leaf_index)
    _check_size("tree_size", tree_size)
    path = _check_hashes("inclusion_path", path)
    _check_hashes("leaf/root", [leaf, root])
    # 1. leaf_index >= tree_size fails (an empty tree includes nothing).
    if leaf_index >= tree_size:
        raise ProofError("leaf index is not below the tree size")
    if len(path) != inclusion_length(leaf_index, tree_size):
        raise ProofError("inclusion path has the wrong length")
    # 2.-3.
    fn, sn, r = leaf_index, tree_size - 1, leaf
    # 4.
    for p in path:
        if sn == 0:
            raise ProofError("inclusion path too long")
        if fn & 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _h(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    # 5.
    if sn != 0:
        raise ProofError("inclusion path too short")
    if r != root:
        raise ProofError("inclusion path does not lead to the root")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> None:
    """RFC 9162 §2.1.4.2 (for 0 < first < second); first == second needs an empty proof and equal roots."""
    _check_size("first", first)
    _check_size("second", second)
    proof = _check_hashes("consistency_path", proof)
    _check_hashes("roots", [first_root, second_root])
    if first == 0:
        raise ProofError("first size must be above 0 (nothing to be consistent with)")
    if first > second:
        raise ProofError("first size is larger than second")
    if first == second:
        if proof:
            raise ProofError("proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError("equal sizes with different roots")
        return
    # 1.
    if not proof:
        raise ProofError("empty consistency path")
    if len(proof) != consistency_length(first, second):
        raise ProofError("consistency path has the wrong length")
    # 2.
    if first & (first - 1) == 0:
        proof = [first_root, *proof]
    # 3.-4.
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = proof[0]
    # 6.
    for c in proof[1:]:
        if sn == 0:
            raise ProofError("consistency path too long")
        if fn & 1 or fn == sn:
            fr = _h(b"\x01" + c + fr)
            sr = _h(b"\x01" + c + sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _h(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    # 7.
    if sn != 0:
        raise ProofError("consistency path too short")
    if fr != first_root:
        raise ProofError("proof does not lead to the first root")
    if sr != second_root:
        raise ProofError("proof does not lead to the second root")


# --- C2SP signed note / checkpoint -----------------------------------------------------------------


def parse_vkey(vkey: str) -> tuple[str, bytes, bytes]:
    """``name+hexhash+base64(0x01 ‖ key)`` → (name, 4-byte key hash, 32-byte Ed25519 key), checked."""
    name, key_hash_hex, key_b64 = vkey.strip().split("+", 2)
    raw = base64.b64decode(key_b64, validate=True)
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise ProofError("not an Ed25519 verifier key")
    key_hash = bytes.fromhex(key_hash_hex)
    if _h(name.encode() + b"\n" + raw)[:4] != key_hash:
        raise ProofError("verifier key hash does not match")
    return name, key_hash, raw[1:]


def open_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    """Check ``note`` is signed by ``vkey``; return (origin, tree size, root hash)."""
    name, key_hash, public = parse_vkey(vkey)
    if not note.endswith("\n") or "\n\n" not in note:
        raise ProofError("not a signed note")
    split = note.rindex("\n\n")
    text, signatures = note[: split + 1], note[split + 2:].splitlines()
    lines = text.splitlines()
    if len(lines) < 3 or not re.fullmatch(r"0|[1-9][0-9]*", lines[1]):
        raise ProofError("not a checkpoint")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise ProofError("root hash is not 32 bytes")
    for line in signatures:
        m = re.fullmatch(r"— (\S+) (\S+)", line)
        if not m or m.group(1) != name:
            continue
        sig = base64.b64decode(m.group(2), validate=True)
        if sig[:4] != key_hash or len(sig) != 68:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(sig[4:], text.encode())
        except InvalidSignature as exc:
            raise ProofError("bad signature") from exc
        return lines[0], int(lines[1]), root
    raise ProofError("no signature by this key")
