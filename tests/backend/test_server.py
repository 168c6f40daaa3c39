"""The real HTTP server (backend/server.py) against hostile clients on raw loopback sockets: slow
headers and bodies, rate limits before bodies, disconnects, unparsable requests, forged keys."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.app import create_app
from backend.logging_setup import JsonFormatter
from backend.server import AppRunner
from tests.conftest import make_settings

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@dataclass
class Live:
    port: int

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def exchange(self, raw: bytes, wait: float = 3.0) -> bytes:
        """Send ``raw``, return everything the server answers until it closes (bounded)."""
        reader, writer = await self.open()
        writer.write(raw)
        await writer.drain()
        try:
            return await read_until_closed(reader, wait)
        finally:
            writer.close()


async def read_until_closed(reader: asyncio.StreamReader, wait: float) -> bytes:
    data = b""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            chunk = await asyncio.wait_for(reader.read(65536), deadline - time.monotonic())
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    return data


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.fixture
async def serve(db_url: str, tmp_path: Path) -> AsyncIterator[Callable[..., asyncio.Future[Live]]]:
    runners: list[AppRunner] = []

    async def start(header_timeout: float = 0.5, body_timeout: float = 0.5, body_min_rate: float = 16384.0,
                    **overrides: object) -> Live:
        app = create_app(make_settings(db_url, tmp_path / "data", **overrides))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        runner = AppRunner(app, access_log=None, header_timeout=header_timeout, body_timeout=body_timeout,
                           body_min_rate=body_min_rate)
        await runner.setup()
        runners.append(runner)
        from aiohttp import web

        await web.SockSite(runner, sock).start()
        return Live(sock.getsockname()[1])

    yield start  # type: ignore[misc]
    for runner in runners:
        await runner.cleanup()


# --- A.2 slow clients ------------------------------------------------------------------------------


async def test_a_slowloris_client_trickling_headers_is_cut_off_at_the_header_timeout(serve) -> None:
    live = await serve(header_timeout=0.5)
    reader, writer = await live.open()
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    closed_after = None
    for i in range(40):  # one header line every 0.1 s: never complete, bounded to 4 s
        try:
            writer.write(f"X-Trickle-{i}: a\r\n".encode())
            await writer.drain()
            if await asyncio.wait_for(reader.read(1024), 0.1) == b"":
                closed_after = time.monotonic() - started
                break
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            closed_after = time.monotonic() - started
            break
    writer.close()
    assert closed_after is not None and closed_after < 2.0


async def test_a_silent_connection_is_closed_at_the_header_timeout(serve) -> None:
    live = await serve(header_timeout=0.3)
    reader, writer = await live.open()
    started = time.monotonic()
    assert await read_until_closed(reader, 3.0) == b""
    assert time.monotonic() - started < 1.5
    writer.close()


async def test_a_kept_alive_connection_serves_several_requests(serve) -> None:
    live = await serve(header_timeout=0.3)
    reader, writer = await live.open()
    for _ in range(3):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert head.startswith(b"HTTP/1.1 200")
        await reader.readexactly(int(parse(head)[1]["content-length"]))
        await asyncio.sleep(0.4)  # idle longer than the header timeout: keep-alive governs idleness
    writer.close()


async def test_a_stalled_body_gets_408_in_json_at_the_body_timeout(serve) -> None:
    live = await serve(body_timeout=0.5)
    started = time.monotonic()
    raw = await live.exchange(b"POST /mp/v1/ratings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 200\r\n\r\n{\"token\": ", wait=4)
    status, headers, body = parse(raw)
    assert status == 408 and time.monotonic() - started < 2.5
    assert json.loads(body)["error"]["code"] == "body_timeout"
    assert headers.get("connection", "").lower() == "close" or raw  # and the server closed it


async def _trickle(live: Live, total: int, piece: int, pause: float, max_seconds: float) -> tuple[int, bytes]:
    """POST a JSON body of ``total`` bytes in pieces of ``piece`` bytes every ``pause`` seconds; return how
    many bytes were sent before the server answered, and its answer (bounded by ``max_seconds``)."""
    reader, writer = await live.open()
    writer.write(b"POST /mp/v1/ratings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % total)
    body = b'{"token": "x", "score": 5}'.rjust(total)  # white space first: valid JSON when complete
    sent, started, answer = 0, time.monotonic(), b""
    try:
        while sent < total and time.monotonic() - started < max_seconds:
            writer.write(body[sent:sent + piece])
            await writer.drain()
            sent += len(body[sent:sent + piece])
            try:
                answer = await asyncio.wait_for(reader.read(65536), pause)
                break  # the server answered before the body was complete
            except TimeoutError:
                continue
        if not answer:
            answer = await read_until_closed(reader, 3.0)
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()
    return sent, answer


async def test_a_body_that_keeps_arriving_above_the_minimum_rate_outlives_the_body_timeout(serve) -> None:
    # 100 bytes every 0.05 s is ~2,000 bytes/s, ten times the minimum: each piece earns 0.5 s.
    live = await serve(body_timeout=0.5, body_min_rate=200.0)
    started = time.monotonic()
    sent, answer = await _trickle(live, 4000, 100, 0.05, max_seconds=20)
    assert sent == 4000 and time.monotonic() - started > 1.0  # twice the body timeout, not cut off
    status, _, body = parse(answer)
    assert status != 408 and json.loads(body)["error"]["code"] != "body_timeout"


async def test_a_body_trickling_below_the_minimum_rate_is_cut_off(serve) -> None:
    # 2 bytes every 0.05 s is ~40 bytes/s, a fifth of the minimum: it falls behind and gets 408.
    live = await serve(body_timeout=0.5, body_min_rate=200.0)
    sent, answer = await _trickle(live, 4000, 2, 0.05, max_seconds=20)
    assert sent < 4000
    status, _, body = parse(answer)
    assert status == 408 and json.loads(body)["error"]["code"] == "body_timeout"


async def test_the_rate_limit_is_checked_before_the_body_is_read(serve) -> None:
    live = await serve(body_timeout=5.0)
    good = b'{"token": "x", "score": 5}'
    for _ in range(10):  # the rating budget's burst
        raw = await live.exchange(b"POST /mp/v1/ratings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                  b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(good), good))
        assert parse(raw)[0] != 429
    started = time.monotonic()
    reader, writer = await live.open()  # announces a body and never sends it
    writer.write(b"POST /mp/v1/ratings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 5000\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
    writer.close()
    assert head.startswith(b"HTTP/1.1 429") and time.monotonic() - started < 2.0


async def test_a_client_that_disconnects_mid_body_is_logged_as_such_not_as_an_error(serve, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    live = await serve(body_timeout=5.0)
    _reader, writer = await live.open()
    writer.write(b"POST /mp/v1/ratings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 500\r\n\r\n{\"token\"")
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.transport.abort()  # RST
    for _ in range(50):
        if any("client disconnected" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.05)
    assert any("client disconnected" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# --- A.6 parser-level errors, Server header, keys in logs ------------------------------------------

BAD_REQUESTS = {
    "malformed header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n",
    "bad header value": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\x01c\r\n\r\n",
    "bad request line": b"GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    "bad method": b"G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad chunk size": b"POST /mp/v1/ratings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
    "conflicting lengths": b"POST /mp/v1/ratings HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "header line too long": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n",
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
async def test_unparsable_requests_get_the_json_error_shape(serve, name: str) -> None:
    live = await serve()
    status, headers, body = parse(await live.exchange(BAD_REQUESTS[name]))
    assert 400 <= status < 500, name
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"} and error["code"].isidentifier() and not error["message"].isascii()
    assert headers["server"] == "yangguang"


async def test_a_bad_chunk_arriving_after_the_head_is_a_400_too(serve, caplog) -> None:
    live = await serve(body_timeout=2.0)
    reader, writer = await live.open()
    writer.write(b"POST /mp/v1/ratings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.write(b"zz\r\n\r\n")
    status, _, body = parse(await read_until_closed(reader, 3))
    writer.close()
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_request"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_server_header_names_no_versions(serve) -> None:
    live = await serve()
    for path in (b"/healthz", b"/nowhere", b"/api/v1/officers"):
        status, headers, _ = parse(await live.exchange(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                                       % path))
        assert headers["server"] == "yangguang", (path, status)


async def test_no_log_line_echoes_any_part_of_a_presented_key(serve, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    live = await serve()
    keys = [f"yg_{secrets.token_urlsafe(32)}" for _ in range(4)]
    requests = [
        b"GET /api/v1/officers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n",
        b"GET /api/v1/officers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\x01\r\n\r\n",  # unparsable
        b"GET /api/v1/officers?key=%s HTTP/1.1 x\r\nHost: x\r\n\r\n",  # bad request line quoting it
        b"GET /api/v1/officers HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n",  # the key as a malformed header
    ]
    for key, raw in zip(keys, requests, strict=True):
        answer = await live.exchange(raw % key.encode())
        assert 400 <= parse(answer)[0] < 500
        assert key[:12].encode() not in answer
    await asyncio.sleep(0.1)
    # The records as logged, before the formatters' redaction: nothing may rely on it here.
    plain = logging.Formatter()
    text = "\n".join(r.getMessage() + (plain.formatException(r.exc_info) if r.exc_info else "")
                     for r in caplog.records)
    text += "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert caplog.records
    for key in keys:
        pieces = {key[i:i + 8] for i in range(len(key) - 7)}
        assert not [p for p in pieces if p in text], key
