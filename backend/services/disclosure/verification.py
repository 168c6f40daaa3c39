"""The scan: QR keys, the live-status cache (invalidated across processes through Redis), the verifier."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from backend.clock import Clock
from backend.models import Credential
from backend.models.enums import CredentialStatus
from backend.services.disclosure.scans import ScanRecorder
from backend.services.disclosure.status import VERSION_KEY, C, QrKeyMissing, effective_status
from qr import tokens
from qr.keys import KeyRing, load_keyring

log = logging.getLogger("yangguang.credentials")


# --- keys -----------------------------------------------------------------------------------------


class KeyStore:
    """The QR keys of one data folder, loaded once; reloaded when a token names a key we lack (rotation)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._ring: KeyRing | None = None
        self._reloaded_at = 0.0

    @property
    def ring(self) -> KeyRing:
        if self._ring is None:
            self._ring = load_keyring(self.data_dir)
        return self._ring

    def parse(self, token: str) -> bytes | None:
        ring = self.ring
        raw = tokens.parse(token, ring.keys)
        if raw is None and tokens.key_id_of(token) not in ring.keys:
            now = time.monotonic()
            if now - self._reloaded_at > 10:  # at most every 10 s, so garbage cannot make us read files
                self._reloaded_at = now
                self._ring = load_keyring(self.data_dir)
                raw = tokens.parse(token, self._ring.keys)
        return raw

    def mint(self) -> tuple[str, str]:
        ring = self.ring
        return tokens.mint(ring.current, ring.keys)

    def token_for(self, seed: str) -> str:
        try:
            return tokens.token_from_seed(seed, self.ring.keys)
        except (KeyError, ValueError):
            self._ring = load_keyring(self.data_dir)
            try:
                return tokens.token_from_seed(seed, self._ring.keys)
            except (KeyError, ValueError) as exc:
                raise QrKeyMissing() from exc


# --- the verify cache ------------------------------------------------------------------------------

_LOCAL_CACHES: weakref.WeakSet[VerifyCache] = weakref.WeakSet()


class VerifyCache:
    """token -> public view of a credential, tagged with the version it was read under.

    With Redis, the version is a counter in Redis read on every scan (one GET) and incremented
    after every committed change: an entry read under an older version is never served, so no
    process can show a stale status once the change has committed. Without Redis (the embedded,
    single-process default) the version is this process's own counter.
    """

    def __init__(self, redis: Any = None, *, max_entries: int = 50_000, ttl: float = 300.0,
                 read_timeout: float = 5.0) -> None:
        self.redis = redis
        self.max_entries = max_entries
        self.ttl = ttl  # officer and agency names change rarely and without a bump; bound staleness
        self.read_timeout = read_timeout
        self._local_version = 0
        # Scans waiting for a GET that has not been sent yet (one plain future each), and those
        # waiting for the GET in flight. At most one GET is in flight.
        self._waiting: list[asyncio.Future[int | None]] | None = None
        self._inflight: list[asyncio.Future[int | None]] | None = None
        self._send_scheduled = False
        self._line: _VersionLine | None = None  # this cache's own Redis connection (version reads only)
        self._connecting: asyncio.Task[None] | None = None
        self._entries: dict[str, tuple[int, float, dict[str, Any] | None]] = {}
        _LOCAL_CACHES.add(self)

    async def version(self) -> int | None:
        """The current version; None means "do not trust the cache now" (Redis unreachable).

        With Redis, concurrent scans share reads, but a scan only ever joins a read that is sent
        *after* it arrived: so it always sees every change committed before it arrived (what
        "the very next scan" needs), while under load one GET serves a whole batch of scans.
        """
        if self.redis is None:
            return self._local_version
        waiter: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        if self._waiting is None:
            self._waiting = [waiter]
            if self._inflight is None and not self._send_scheduled:
                self._schedule_send()
        else:
            self._waiting.append(waiter)
        return await waiter  # a cancelled scan cancels only its own future

    def _schedule_send(self) -> None:
        # At the end of this pass of the event loop: the scans whose requests were read in the same
        # pass join this GET instead of waiting for the next one.
        self._send_scheduled = True
        asyncio.get_running_loop().call_soon(self._send)

    def _send(self) -> None:
        self._send_scheduled = False
        if self._inflight is not None or self._waiting is None:
            return
        line = self._line
        if line is None or line.closed:
            if self._connecting is None:
                self._connecting = asyncio.get_running_loop().create_task(self._connect())
            return
        # Taken before the GET is sent: everyone in this batch arrived before the read.
        self._inflight, self._waiting = self._waiting, None
        line.send(_GET_VERSION, self._answer)

    def _answer(self, reply: bytes | Exception | None) -> None:
        value: int | None
        if isinstance(reply, Exception):  # Redis down or refusing: correctness first, read the database
            log.warning("verify cache bypassed, Redis unreachable: %s", type(reply).__name__)
            value = None
        else:
            value = int(reply or 0)
        batch, self._inflight = self._inflight or [], None
        for waiter in batch:
            if not waiter.done():
                waiter.set_result(value)
        if self._waiting is not None and not self._send_scheduled:
            self._schedule_send()

    async def _connect(self) -> None:
        """Open the version line: the pool's address, credentials, database and TLS settings, read
        from the connection class redis-py would use (nothing is sent through redis-py)."""
        try:
            pool = self.redis.connection_pool
            params = pool.connection_class(**pool.connection_kwargs)  # not connected: only read
            loop = asyncio.get_running_loop()
            timeout = params.socket_connect_timeout or self.read_timeout
            ssl_context = params.ssl_context.get() if hasattr(params, "ssl_context") else None
            if getattr(params, "path", None):
                opening = loop.create_unix_connection(lambda: _VersionLine(self.read_timeout), params.path)
            else:
                opening = loop.create_connection(lambda: _VersionLine(self.read_timeout), params.host, params.port,
                                                 ssl=ssl_context)
            async with asyncio.timeout(timeout):
                _, line = await opening
            self._line = line
            username, password = params.username, params.password
            if params.credential_provider is not None:
                creds = params.credential_provider.get_credentials()
                username, password = (None, creds[0]) if len(creds) == 1 else creds
            # Pipelined ahead of the first GET; a refusal closes the line (the GET then fails: bypass).
            if password:
                line.send(_command(b"AUTH", *((username,) if username else ()), password), line.expect_ok)
            if params.db:
                line.send(_command(b"SELECT", str(params.db)), line.expect_ok)
        except Exception as exc:
            log.warning("verify cache bypassed, Redis unreachable: %s", type(exc).__name__)
            batch, self._waiting = self._waiting or [], None
            for waiter in batch:
                if not waiter.done():
                    waiter.set_result(None)
        finally:
            self._connecting = None
        self._send()

    async def close(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        if self._line is not None:
            self._line.close()
            self._line = None

    def knows(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str, version: int | None) -> tuple[bool, dict[str, Any] | None]:
        entry = self._entries.get(key)
        if entry is None or version is None or entry[0] != version or entry[1] < time.monotonic():
            return False, None
        return True, entry[2]

    def put(self, key: str, version: int | None, value: dict[str, Any] | None) -> None:
        if version is None:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude but bounded; a full reload costs one query per token
        self._entries[key] = (version, time.monotonic() + self.ttl, value)

    def clear_local(self) -> None:
        self._local_version += 1
        self._entries.clear()

    async def invalidate(self) -> None:
        for cache in list(_LOCAL_CACHES):
            cache.clear_local()
        if self.redis is not None:
            try:
                await self.redis.incr(VERSION_KEY)
            except Exception:
                log.error("could not bump the verify cache version in Redis; other processes may lag")


_GET_VERSION = b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(VERSION_KEY), VERSION_KEY.encode())


def _command(*parts: bytes | str) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _VersionLine(asyncio.Protocol):
    """A Redis connection that carries only the version reads (and its handshake).

    Replies are parsed where they arrive (``data_received``) and handed to the callback of the
    command they answer, in order: no task, stream reader, pool checkout or retry wrapper per read.
    A reply that does not come within ``timeout`` seconds, or any protocol surprise, closes the
    line: every command still waiting gets an exception (so the scans read the database), and the
    next scan opens a new line.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.closed = False
        self.transport: asyncio.Transport | None = None
        self._callbacks: collections.deque[Callable[[bytes | Exception | None], None]] = collections.deque()
        self._buf = bytearray()
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, command: bytes, callback: Callable[[bytes | Exception | None], None]) -> None:
        if self.closed or self.transport is None:
            callback(ConnectionError("version line closed"))
            return
        self._callbacks.append(callback)
        self.transport.write(command)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.timeout, self._timed_out)

    def expect_ok(self, reply: bytes | Exception | None) -> None:
        if reply != b"OK":
            log.warning("verify cache: Redis refused the version line's handshake")
            self.close()

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        while self._callbacks:
            end = buf.find(b"\r\n")
            if end < 0:
                break
            kind = buf[0]
            reply: bytes | Exception | None
            if kind == 36:  # $: bulk string
                size = int(buf[1:end])
                if size < 0:
                    reply, used = None, end + 2
                elif len(buf) < end + size + 4:
                    break
                else:
                    reply, used = bytes(buf[end + 2:end + 2 + size]), end + size + 4
            elif kind in (43, 58):  # + or :: simple string or integer
                reply, used = bytes(buf[1:end]), end + 2
            elif kind == 45:  # -: error
                reply, used = RedisReplyError(bytes(buf[1:end]).decode(errors="replace")), end + 2
            else:
                self.close()
                return
            del buf[:used]
            self._callbacks.popleft()(reply)
        if self._timer is not None and not self._callbacks:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self._callbacks:
            log.warning("verify cache: no answer from Redis within %gs", self.timeout)
            self.close()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()  # connection_lost follows, and fails what is waiting
        self.closed = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        failure = ConnectionError("version line lost")
        while self._callbacks:
            self._callbacks.popleft()(failure)


class RedisReplyError(Exception):
    """An error reply (``-ERR …``) on the version line."""


async def invalidate(cache: VerifyCache | None) -> None:
    if cache is not None:
        await cache.invalidate()
    else:
        for local in list(_LOCAL_CACHES):
            local.clear_local()



# --- verification ----------------------------------------------------------------------------------

# One hand-written join for a cache miss: building the same query through the ORM's queryset
# costs more CPU than the database spends answering it. Parameters are bound, never formatted in.
_VIEW_SQL = (
    "SELECT c.id, c.status, c.valid_from, c.valid_until, c.officer_id, o.name, o.kind, o.certificate_no,"
    " o.categories, o.region, o.photo_path, a.name AS agency_name, a.credit_code AS agency_code,"
    " a.region AS agency_region, a.complaint_phone AS agency_phone"
    " FROM credential c JOIN officer o ON o.id = c.officer_id JOIN agency a ON a.id = o.agency_id"
    " WHERE c.token_hash = {param}"
)


async def _load_view(key: str) -> dict[str, Any] | None:
    conn = Credential._meta.db
    param = "$1" if conn.capabilities.dialect == "postgres" else "?"
    rows = await conn.execute_query_dict(_VIEW_SQL.format(param=param), [key])
    if not rows:
        return None
    row = dict(rows[0])
    for name in ("valid_from", "valid_until"):
        if isinstance(row[name], str):  # SQLite hands back text
            row[name] = date.fromisoformat(row[name][:10])
    if isinstance(row["categories"], str | bytes):
        row["categories"] = orjson.loads(row["categories"])
    return _public_view(row)


@dataclass
class Verified:
    credential_id: uuid.UUID
    status: CredentialStatus
    view: dict[str, Any]


class Verifier:
    """The hot path of a scan: MAC check (no I/O) -> cache -> one `.values()` query on a miss."""

    def __init__(self, keys: KeyStore, cache: VerifyCache, recorder: ScanRecorder, clock: Clock) -> None:
        self.keys = keys
        self.cache = cache
        self.recorder = recorder
        self.clock = clock
        self.db_lookups = 0  # cache misses that reached the database (observability, and the tests)

    async def verify(self, token: str, today: date | None = None) -> Verified | None:
        """``today``: the date the status is computed for, when the caller already read the clock."""
        # The cache is keyed by the token itself and only ever holds tokens whose MAC was checked,
        # so a known token skips the MAC and hash; anything else is checked first, with no I/O.
        known = self.cache.knows(token)
        if not known and self.keys.parse(token) is None:
            return None  # garbage or forged: refused before any database (or Redis) query
        version = await self.cache.version()
        hit, view = self.cache.get(token, version)
        if not hit:
            self.db_lookups += 1
            view = await _load_view(tokens.token_hash(token))
            self.cache.put(token, version, view)
        if view is None:
            return None
        status = effective_status(view["status"], view["valid_from_date"], view["valid_until_date"],
                                  self.clock.today() if today is None else today)
        return Verified(view["id"], status, view)


def _public_view(row: dict[str, Any]) -> dict[str, Any]:
    """Only the public fields of R-D2 ever enter the cache, so nothing else can leave through it."""
    view: dict[str, Any] = {
        "id": row["id"] if isinstance(row["id"], uuid.UUID) else uuid.UUID(str(row["id"])),
        "status": C(row["status"]),
        "valid_from_date": row["valid_from"],
        "valid_until_date": row["valid_until"],
        "credential": {"valid_from": row["valid_from"].isoformat(), "valid_until": row["valid_until"].isoformat()},
        "officer": {
            "id": str(row["officer_id"]), "name": row["name"], "kind": str(row["kind"]),
            "certificate_no": row["certificate_no"], "categories": list(row["categories"] or []),
            "region": row["region"], "has_photo": bool(row["photo_path"]),
        },
        "agency": {"name": row["agency_name"], "credit_code": row["agency_code"], "region": row["agency_region"],
                   "complaint_phone": row["agency_phone"]},
    }
    # The JSON of the parts that do not change per scan, serialised once per cache fill.
    view["json_parts"] = orjson.dumps({k: view[k] for k in ("officer", "agency", "credential")})[1:-1]
    return view
