"""Files with personal data or secrets, in one place: created 0600 in 0700 folders, whatever the umask.

The SQLite database (and the -wal/-shm files SQLite gives the database's own mode), the QR signing
keys, the demo keys, print sheets and stored uploads all go through these functions. Modes are set
explicitly (``fchmod``/``chmod``), not left to the process's umask. Folders that already exist are
left as they are (the database may live in a shared folder such as /tmp); every folder created here
is 0700.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path | str) -> Path:
    """``path`` and any missing parents, each created 0700."""
    path = Path(path).absolute()
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another process made it meanwhile
            continue
        os.chmod(folder, DIR_MODE)
    return path


@contextlib.contextmanager
def _temp_beside(path: Path) -> Iterator[tuple[Path, BinaryIO]]:
    """A new temporary file next to ``path``, 0600 from its first byte, flushed to disk when the
    block ends and removed when it fails."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            yield tmp, fh
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _written_beside(path: Path, data: bytes) -> Path:
    """``data`` in a new temporary file next to ``path``, 0600 from its first byte, flushed to disk."""
    with _temp_beside(path) as (tmp, fh):
        fh.write(data)
    return tmp


def write_private(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, the file 0600 from its first byte."""
    path = Path(path)
    tmp = _written_beside(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_private_new(path: Path | str, data: bytes) -> bool:
    """Create ``path`` with ``data`` (0600 from its first byte) unless it exists; False if it did.
    Two processes racing to create it never overwrite each other: the loser's copy is dropped."""
    path = Path(path)
    tmp = _written_beside(path, data)
    try:
        os.link(tmp, path)  # fails if the file exists
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def create_private(path: Path | str) -> bool:
    """Create an empty 0600 file at ``path`` unless it exists; False if it did."""
    path = Path(path)
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return True


def sqlite_file(database_url: str) -> str | None:
    """The file behind a ``sqlite://`` URL; None for other databases and for ``:memory:``."""
    if not database_url.startswith("sqlite://"):
        return None
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    return None if not path or path == ":memory:" else path


def private_sqlite(database_url: str) -> None:
    """Before SQLite opens the file: create it 0600 (SQLite gives its -wal and -shm files the
    database's mode) in 0700 folders; files left by an older version are narrowed to 0600."""
    path = sqlite_file(database_url)
    if path is None:
        return
    if not create_private(path):
        for name in (path, path + "-wal", path + "-shm", path + "-journal"):
            try:
                if os.stat(name).st_mode & 0o077:
                    os.chmod(name, FILE_MODE)
            except FileNotFoundError:
                continue


@contextlib.contextmanager
def private_stream(path: Path | str) -> Iterator[BinaryIO]:
    """A new file at ``path`` written through a handle (for files too large to hold in memory): 0600
    from its first byte in 0700 folders, flushed to disk and put in place when the block ends. An
    existing file is never overwritten (FileExistsError); a failure leaves nothing behind."""
    path = Path(path)
    with _temp_beside(path) as (tmp, fh):
        yield fh
    try:
        os.link(tmp, path)  # fails if the file exists
    finally:
        tmp.unlink(missing_ok=True)
