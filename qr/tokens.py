"""Credential tokens: short, URL-safe, unguessable and checked without any I/O.

token = base64url( key id (1 byte) ‖ random (9 bytes) ‖ HMAC-SHA256(key, key id ‖ random)[:12] )

30 characters, so ``{base}/v/{token}`` stays within QR version 5-6 at error correction Q. The
72 random bits make tokens non-sequential and unlinkable; the 96-bit MAC under a secret key is what
makes them unforgeable: a guess succeeds with probability 2^-96, and a forged or garbage token is
refused by ``parse`` before anyone touches the database. Keys rotate: the key id names the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping

KEY_ID_BYTES = 1
RANDOM_BYTES = 9
MAC_BYTES = 12
SEED_BYTES = KEY_ID_BYTES + RANDOM_BYTES
TOKEN_BYTES = SEED_BYTES + MAC_BYTES
TOKEN_LENGTH = 30  # len(base64url(22 bytes)) without padding
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, seed: bytes) -> bytes:
    return hmac.digest(key, seed, "sha256")[:MAC_BYTES]  # the one-shot C path: this runs on every scan


def new_seed(key_id: int) -> str:
    """A fresh seed (key id ‖ random) as base64url, stored with the credential."""
    if not 0 < key_id < 256:
        raise ValueError("key id must be 1..255")
    return _b64(bytes([key_id]) + secrets.token_bytes(RANDOM_BYTES))


def token_from_seed(seed: str, keys: Mapping[int, bytes]) -> str:
    """The token for a stored seed; needs the key, so a database reader cannot do this."""
    raw = _unb64(seed)
    if len(raw) != SEED_BYTES:
        raise ValueError("malformed seed")
    key = keys[raw[0]]
    return _b64(raw + _mac(key, raw))


def mint(key_id: int, keys: Mapping[int, bytes]) -> tuple[str, str]:
    """Return (seed, token) for a new credential."""
    seed = new_seed(key_id)
    return seed, token_from_seed(seed, keys)


def parse(token: str, keys: Mapping[int, bytes]) -> bytes | None:
    """The token's raw bytes if its shape and MAC are right, else None. Pure CPU, no I/O."""
    if len(token) != TOKEN_LENGTH or not _ALPHABET.issuperset(token):
        return None
    try:
        raw = _unb64(token)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != TOKEN_BYTES or _b64(raw) != token:  # refuse non-canonical encodings
        return None
    key = keys.get(raw[0])
    if key is None:
        return None
    if not hmac.compare_digest(raw[SEED_BYTES:], _mac(key, raw[:SEED_BYTES])):
        return None
    return raw


def key_id_of(token: str) -> int | None:
    """The key id a token claims (first byte), without checking anything else."""
    if len(token) != TOKEN_LENGTH or not _ALPHABET.issuperset(token):
        return None
    return _unb64(token[:4])[0]


def token_hash(token: str) -> str:
    """What the database stores and is searched by: SHA-256 of the token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()
