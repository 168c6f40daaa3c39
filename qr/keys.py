"""The QR token keys: ``{data_dir}/keys/qr-keys.json``, created on first use with mode 0600 in a 0700
folder (``backend.files``), whatever the umask.

File shape: ``{"current": 2, "keys": {"1": "<base64 32 bytes>", "2": "..."}}``. Rotation adds a key
and makes it current; older keys stay so that cards already printed keep verifying until they are
reissued. The keys never enter the database: a database dump alone cannot mint a card.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from backend.files import private_dir, write_private

FILE_NAME = "qr-keys.json"


@dataclass(frozen=True)
class KeyRing:
    current: int
    keys: dict[int, bytes]
    path: Path


def keys_path(data_dir: Path) -> Path:
    return Path(data_dir) / "keys" / FILE_NAME


def _encode(current: int, keys: dict[int, bytes]) -> bytes:
    return json.dumps({"current": current,
                       "keys": {str(k): base64.b64encode(v).decode() for k, v in sorted(keys.items())}},
                      indent=1).encode()


def _write_new(path: Path, payload: bytes) -> bool:
    """Create the file atomically with 0600; False if another process got there first."""
    private_dir(path.parent)
    tmp = path.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # fails if the file exists: two processes never overwrite each other
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def read_keyring(path: Path) -> KeyRing:
    data = json.loads(path.read_bytes())
    keys = {int(k): base64.b64decode(v) for k, v in data["keys"].items()}
    current = int(data["current"])
    if current not in keys or any(not 0 < k < 256 or len(v) < 32 for k, v in keys.items()):
        raise ValueError(f"{path}: malformed key file")
    return KeyRing(current, keys, path)


def load_keyring(data_dir: Path) -> KeyRing:
    path = keys_path(data_dir)
    if not path.exists():
        _write_new(path, _encode(1, {1: secrets.token_bytes(32)}))
    return read_keyring(path)


def rotate(data_dir: Path) -> KeyRing:
    """Add a new current key. Existing tokens keep verifying; new ones use the new key."""
    ring = load_keyring(data_dir)
    new_id = max(ring.keys) + 1
    if new_id > 255:
        raise ValueError("key ids exhausted (255)")
    keys = {**ring.keys, new_id: secrets.token_bytes(32)}
    write_private(ring.path, _encode(new_id, keys))
    return read_keyring(ring.path)
