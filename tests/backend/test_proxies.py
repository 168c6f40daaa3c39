"""YANGGUANG_TRUSTED_PROXIES: X-Forwarded-For is believed only from a trusted proxy (A.3)."""

from __future__ import annotations

import uuid

import pytest

from backend.app import create_app
from backend.proxies import client_address, parse_trusted_proxies
from backend.settings import Settings, SettingsError
from tests.conftest import make_settings
from tests.support.processes import cli_env, run_cli

PROXIES = parse_trusted_proxies("10.0.0.0/8, 127.0.0.1, ::1")


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy() -> None:
    assert client_address("203.0.113.9", ["198.51.100.1"], PROXIES) == "203.0.113.9"
    assert client_address("203.0.113.9", ["198.51.100.1"], ()) == "203.0.113.9"
    assert client_address("127.0.0.1", ["198.51.100.1"], ()) == "127.0.0.1"


def test_behind_trusted_proxies_the_right_most_untrusted_address_is_the_client() -> None:
    assert client_address("127.0.0.1", ["198.51.100.1"], PROXIES) == "198.51.100.1"
    # The client wrote a spoofed entry; nginx appended the real one; an inner proxy added its own.
    assert client_address("127.0.0.1", ["6.6.6.6, 198.51.100.1, 10.1.2.3"], PROXIES) == "198.51.100.1"
    assert client_address("127.0.0.1", ["6.6.6.6", "198.51.100.1"], PROXIES) == "198.51.100.1"  # repeated header
    assert client_address("::1", ["2001:db8::7"], PROXIES) == "2001:db8::7"
    assert client_address("::ffff:127.0.0.1", ["198.51.100.1:5555"], PROXIES) == "198.51.100.1"
    # Nothing usable: the nearest trusted hop, never the client's garbage.
    assert client_address("127.0.0.1", [], PROXIES) == "127.0.0.1"
    assert client_address("127.0.0.1", ["garbage, 10.0.0.5"], PROXIES) == "10.0.0.5"


def test_an_invalid_setting_is_a_clear_startup_error(tmp_path) -> None:
    with pytest.raises(SettingsError, match=r"YANGGUANG_TRUSTED_PROXIES.*'nginx'"):
        Settings.from_env({"YANGGUANG_TRUSTED_PROXIES": "10.0.0.1, nginx"})
    env = cli_env(f"sqlite://{tmp_path / 'db.sqlite3'}", tmp_path, YANGGUANG_TRUSTED_PROXIES="10.0.0.0/33")
    result = run_cli(["serve", "--port", "0"], env, timeout=30)
    assert result.returncode == 2
    assert "YANGGUANG_TRUSTED_PROXIES" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(aiohttp_client, db_url, tmp_path) -> None:
    client = await aiohttp_client(create_app(make_settings(db_url, tmp_path / "data", scan_rate_per_minute=3)))
    url = f"/mp/v1/decisions/{uuid.uuid4()}"
    statuses = [(await client.get(url, headers={"X-Forwarded-For": f"198.51.100.{i}"})).status for i in range(4)]
    assert statuses == [404, 404, 404, 429]  # one bucket: the peer's


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_behind_a_trusted_proxy_two_citizens_get_two_buckets(aiohttp_client, db_url, tmp_path) -> None:
    settings = make_settings(db_url, tmp_path / "data", scan_rate_per_minute=3,
                             trusted_proxies=parse_trusted_proxies("127.0.0.1, ::1"))
    client = await aiohttp_client(create_app(settings))
    url = f"/mp/v1/decisions/{uuid.uuid4()}"

    async def as_citizen(xff: str) -> int:
        return (await client.get(url, headers={"X-Forwarded-For": xff})).status

    assert [await as_citizen("198.51.100.1") for _ in range(4)] == [404, 404, 404, 429]
    assert await as_citizen("198.51.100.2") == 404  # another citizen, its own bucket
    # The first citizen cannot escape its bucket by writing another address in front of its own.
    assert await as_citizen("203.0.113.50, 198.51.100.1") == 429


def test_slow_client_deadlines_are_configurable_and_checked() -> None:
    default = Settings.from_env({})
    assert (default.header_timeout, default.body_timeout, default.trusted_proxies) == (10.0, 30.0, ())
    tuned = Settings.from_env({"YANGGUANG_HEADER_TIMEOUT": "2.5", "YANGGUANG_BODY_TIMEOUT": "60"})
    assert (tuned.header_timeout, tuned.body_timeout) == (2.5, 60.0)
    for name, value in (("HEADER_TIMEOUT", "0"), ("BODY_TIMEOUT", "-1"), ("BODY_TIMEOUT", "soon")):
        with pytest.raises(SettingsError, match=f"YANGGUANG_{name}"):
            Settings.from_env({f"YANGGUANG_{name}": value})


def test_the_body_minimum_rate_and_the_evidence_size_limit_are_configurable_and_checked() -> None:
    default = Settings.from_env({})
    assert (default.body_min_rate, default.evidence_max_bytes) == (16384.0, 2147483648)
    tuned = Settings.from_env({"YANGGUANG_BODY_MIN_RATE": "4096", "YANGGUANG_EVIDENCE_MAX_BYTES": "1048576"})
    assert (tuned.body_min_rate, tuned.evidence_max_bytes) == (4096.0, 1048576)
    for name, value in (("BODY_MIN_RATE", "0"), ("BODY_MIN_RATE", "fast"), ("EVIDENCE_MAX_BYTES", "-1"),
                        ("EVIDENCE_MAX_BYTES", "2G")):
        with pytest.raises(SettingsError, match=f"YANGGUANG_{name}"):
            Settings.from_env({f"YANGGUANG_{name}": value})
