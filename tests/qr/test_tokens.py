"""Tokens: URL-safe, short, unguessable, and refused without I/O when forged or malformed."""

from __future__ import annotations

import base64
import os
import random
import secrets
import stat
import time

from qr import keys as qr_keys
from qr import tokens

URL_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_minted_token_is_short_url_safe_and_parses(tmp_path):
    ring = qr_keys.load_keyring(tmp_path)
    seed, token = tokens.mint(ring.current, ring.keys)
    assert len(token) == tokens.TOKEN_LENGTH == 30
    assert set(token) <= URL_SAFE
    assert token.startswith(seed[:13])  # the seed is the token's prefix; the MAC completes it
    assert tokens.parse(token, ring.keys) is not None
    assert tokens.token_from_seed(seed, ring.keys) == token


def test_tokens_are_not_sequential(tmp_path):
    ring = qr_keys.load_keyring(tmp_path)
    minted = [tokens.mint(ring.current, ring.keys)[1] for _ in range(2000)]
    assert len(set(minted)) == 2000
    # The random part of consecutive tokens shares no structure: no common prefix beyond the key id.
    bodies = [base64.urlsafe_b64decode(t + "==")[1:10] for t in minted]
    assert len({b[:3] for b in bodies}) > 1900


def test_the_key_file_is_created_once_with_mode_0600(tmp_path):
    ring = qr_keys.load_keyring(tmp_path)
    path = qr_keys.keys_path(tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert qr_keys.load_keyring(tmp_path).keys == ring.keys  # a second load reads, never overwrites


def test_rotation_keeps_printed_cards_valid_and_signs_new_ones_with_the_new_key(tmp_path):
    old_ring = qr_keys.load_keyring(tmp_path)
    _, old_token = tokens.mint(old_ring.current, old_ring.keys)
    new_ring = qr_keys.rotate(tmp_path)
    assert new_ring.current == old_ring.current + 1
    _, new_token = tokens.mint(new_ring.current, new_ring.keys)
    assert tokens.parse(old_token, new_ring.keys) is not None
    assert tokens.parse(new_token, new_ring.keys) is not None
    assert tokens.parse(new_token, old_ring.keys) is None  # a process that has not reloaded refuses it
    assert stat.S_IMODE(os.stat(qr_keys.keys_path(tmp_path)).st_mode) == 0o600


def forged_tokens(real: str, ring_keys: dict[int, bytes], n: int, rng: random.Random) -> list[str]:
    """Random strings, bit flips of a real token, right key id with random bytes, another key's MACs, junk."""
    alphabet = sorted(URL_SAFE)
    attacker = {k: secrets.token_bytes(32) for k in ring_keys}
    out: list[str] = []
    while len(out) < n:
        kind = len(out) % 6
        if kind == 0:
            out.append("".join(rng.choice(alphabet) for _ in range(30)))
        elif kind == 1:
            i = rng.randrange(30)
            c = rng.choice([a for a in alphabet if a != real[i]])
            out.append(real[:i] + c + real[i + 1:])
        elif kind == 2:
            raw = bytes([next(iter(ring_keys))]) + rng.randbytes(21)
            out.append(base64.urlsafe_b64encode(raw).decode().rstrip("="))
        elif kind == 3:
            out.append(tokens.mint(next(iter(attacker)), attacker)[1])
        elif kind == 4:
            out.append(real[: rng.randrange(30)] + "".join(rng.choice(alphabet) for _ in range(rng.randrange(3))))
        else:
            out.append(rng.choice(["", "=" * 30, real + "=", real.upper(), "../" * 10, "A" * 30, "%00" * 10,
                                   real[:29] + "=", " " + real[1:], "张" * 30]))
    return out


def test_a_hundred_thousand_random_and_forged_tokens_none_parses(tmp_path):
    ring = qr_keys.load_keyring(tmp_path)
    _, real = tokens.mint(ring.current, ring.keys)
    forged = forged_tokens(real, ring.keys, 100_000, random.Random(7))
    forged = [t for t in forged if t != real]
    started = time.perf_counter()
    accepted = [t for t in forged if tokens.parse(t, ring.keys) is not None]
    elapsed = time.perf_counter() - started
    assert accepted == []
    assert len(forged) >= 99_990
    assert elapsed < 5, f"parsing is pure CPU and should be fast: {elapsed:.2f}s"
