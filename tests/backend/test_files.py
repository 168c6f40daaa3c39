"""Files with personal data or secrets are 0600 in 0700 folders whatever the umask (A.4)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from backend.files import private_dir, private_sqlite, write_private
from qr.keys import keys_path, load_keyring, rotate
from tests.support.processes import ROOT, cli_env


def modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root.parent)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


def test_demo_and_serve_leave_nothing_readable_by_others_under_umask_000(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "var"  # neither folder exists yet
    env = cli_env(f"sqlite://{data / 'yangguang.sqlite3'}", data)
    result = subprocess.run([sys.executable, "-m", "backend.cli", "demo"], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=180, preexec_fn=lambda: os.umask(0))
    assert result.returncode == 0, result.stderr[-2000:]
    found = modes(data)
    names = set(found)
    assert {"var/yangguang.sqlite3", "var/keys/qr-keys.json"} <= names
    wrong = {name: oct(mode) for name, mode in found.items()
             if mode != (0o700 if (tmp_path / "fresh" / name).is_dir() else 0o600)}
    assert not wrong
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o700


async def test_the_sqlite_database_and_its_wal_and_shm_files_are_private(tmp_path: Path) -> None:
    from backend.db import migrate, orm
    from tests.conftest import make_settings
    from tests.factories import an_agency

    old = os.umask(0)
    try:
        path = tmp_path / "new" / "yangguang.sqlite3"
        await migrate(f"sqlite://{path}")
        async with orm(make_settings(f"sqlite://{path}", tmp_path / "data")):
            await an_agency()
            files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    finally:
        os.umask(old)
    assert {"yangguang.sqlite3", "yangguang.sqlite3-wal", "yangguang.sqlite3-shm"} <= set(files)
    assert set(files.values()) == {0o600}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_database_left_readable_by_an_older_version_is_narrowed(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    for name in (db, Path(f"{db}-wal")):
        name.write_bytes(b"")
        os.chmod(name, 0o644)
    private_sqlite(f"sqlite://{db}")
    assert stat.S_IMODE(db.stat().st_mode) == stat.S_IMODE(Path(f"{db}-wal").stat().st_mode) == 0o600


def test_keys_and_written_files_are_private_under_umask_000(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        data = tmp_path / "a" / "b"
        load_keyring(data)
        rotate(data)
        sheet = write_private(tmp_path / "out" / "deep" / "print-sheet.pdf", b"%PDF")
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o755)
        os.chmod(shared, 0o755)
        private_dir(shared / "mine")
    finally:
        os.umask(old)
    assert stat.S_IMODE(keys_path(data).stat().st_mode) == 0o600
    for folder in (tmp_path / "a", data, keys_path(data).parent, tmp_path / "out", sheet.parent, shared / "mine"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE(sheet.stat().st_mode) == 0o600
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # an existing folder is not ours to change
    assert [p.name for p in keys_path(data).parent.iterdir()] == ["qr-keys.json"]  # no temporary files left
