"""The scan: QR keys, the live-status cache (invalidation pushed through Redis, writers wait for every
serving process to confirm or for its lease to run out), the verifier."""

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

# Redis names of the pushed invalidation (see VerifyCache). The channel carries the database number:
# deployments sharing one Redis on different databases do not wait for each other's processes.
LEASES_KEY = "yg:cred:leases"  # set of lease ids of serving processes
LEASE_PREFIX = "yg:cred:lease:"  # + lease id: a key with a TTL its process renews
ACK_PREFIX = "yg:cred:ack:"  # + invalidation id: the list the processes push their lease id onto
CHANNEL_PREFIX = "yg:cred:invalidate:"  # + database number
MAX_WRITER_WAIT = 60.0  # no lease is honoured longer than this, whatever TTL it carries
_RETRY_AFTER = 0.5  # seconds between attempts to reach Redis again

# One atomic step after a commit: bump the version (the counter processes of older releases read),
# publish the invalidation, and list the leases alive at that instant with what is left of each.
# Atomic, so a process is either subscribed before the PUBLISH (it gets the message) or registers
# its lease after the listing (it starts with an empty cache, after the commit): never in between.
_PUBLISH_SCRIPT = """
redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
local live = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local left = redis.call('PTTL', ARGV[3] .. id)
  if left > 0 then
    live[#live + 1] = id
    live[#live + 1] = left
  else
    redis.call('SREM', KEYS[2], id)
  end
end
return live
"""


class VerifyCache:
    """token -> public view of a credential, tagged with the generation it was read under.

    Without Redis (the embedded, single-process default) a committed change bumps this process's
    generation and that is all. With Redis, invalidation is pushed, and the scan needs no Redis round
    trip: each serving cache keeps one RESP3 connection (``_InvalidationLine``) subscribed to the
    invalidation channel and holds a *lease* on it, a key with a TTL renewed every third of the TTL.
    A writer, after its commit, publishes the invalidation and waits until every lease alive at
    that instant has acknowledged it (each process clears its cache before acknowledging) or has
    expired. A cache trusts its entries only while its own lease is known to hold (``_trusted_until``,
    computed from when the last renewal was *sent*, so it ends before Redis could expire the key)
    and its line is up: a process whose subscription is cut, or whose lease lapsed, reads the
    database until the next renewal answers. So a change committed before a scan arrived is never
    hidden by any process's cache, and a writer waits for a dead process at most one lease.
    """

    def __init__(self, redis: Any = None, *, max_entries: int = 50_000, ttl: float = 300.0,
                 read_timeout: float = 5.0, lease_seconds: float = 3.0) -> None:
        self.redis = redis
        self.max_entries = max_entries
        self.ttl = ttl  # officer and agency names change rarely and without a bump; bound staleness
        self.read_timeout = read_timeout
        self.lease_seconds = min(lease_seconds, MAX_WRITER_WAIT)
        self._generation = 0
        self._line: _InvalidationLine | None = None
        self._lease_id: str | None = None  # of the current line; each line holds its own lease
        self._trusted_until = 0.0  # monotonic; 0: not trusted (no line, or not yet registered)
        self._connecting: asyncio.Task[None] | None = None
        self._retry_at = 0.0
        self._renewal: asyncio.TimerHandle | None = None
        self._closed = False
        self._entries: dict[str, tuple[int, float, dict[str, Any] | None]] = {}
        _LOCAL_CACHES.add(self)

    def version(self) -> int | None:
        """The generation to read and fill the cache under; None: do not trust the cache now.

        The hot path: with Redis, a comparison with the lease's end, no I/O. When the cache may not
        be trusted, (re)connecting starts in the background and this scan reads the database.
        """
        if self.redis is None or time.monotonic() < self._trusted_until:
            return self._generation
        self._resync()
        return None

    @property
    def trusted(self) -> bool:
        return self.redis is None or time.monotonic() < self._trusted_until

    async def synced(self, within: float = 10.0) -> bool:
        """Wait (at most ``within`` seconds) until the cache may be trusted: at start-up, and in tests."""
        deadline = time.monotonic() + within
        while not self.trusted:
            self._resync()
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)  # waiting on our own background connection: nothing to await instead
        return True

    def _resync(self, due: bool = False) -> None:
        """``due``: called by the retry timer, which is the retry (see ``_retry_later``)."""
        if self._closed:
            return
        if self._connecting is not None or (self._line is not None and not self._line.closed):
            return  # connecting, or connected and waiting for the lease's renewal to answer
        if not due and time.monotonic() < self._retry_at:
            return  # Redis refused us a moment ago: do not retry on every scan
        self._connecting = asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        """Open the line: the pool's address, credentials, database and TLS settings, read from the
        connection class redis-py would use (nothing is sent through redis-py)."""
        try:
            pool = self.redis.connection_pool
            params = pool.connection_class(**pool.connection_kwargs)  # not connected: only read
            loop = asyncio.get_running_loop()
            timeout = params.socket_connect_timeout or self.read_timeout
            ssl_context = params.ssl_context.get() if hasattr(params, "ssl_context") else None

            def protocol() -> _InvalidationLine:
                return _InvalidationLine(self.read_timeout, self._invalidated, self._lost)

            if getattr(params, "path", None):
                opening = loop.create_unix_connection(protocol, params.path)
            else:
                opening = loop.create_connection(protocol, params.host, params.port, ssl=ssl_context)
            async with asyncio.timeout(timeout):
                _, line = await opening
            if line.closed:
                # Closed by the peer before this task resumed: its loss was not this line's yet, so
                # nothing scheduled a retry. Without one, only a scan would ever reconnect.
                raise ConnectionResetError("closed at once")
            username, password = params.username, params.password
            if params.credential_provider is not None:
                creds = params.credential_provider.get_credentials()
                username, password = (None, creds[0]) if len(creds) == 1 else creds
            previous, lease_id = self._lease_id, uuid.uuid4().hex
            self._line, self._lease_id = line, lease_id
            # Pipelined; any refusal closes the line (and the cache stays untrusted).
            if password:
                line.send(_command(b"AUTH", *((username,) if username else ()), password), line.expect_ok)
            line.send(_command(b"HELLO", b"3"), line.expect_map)  # RESP3: pushes and replies on one line
            if params.db:
                line.send(_command(b"SELECT", str(params.db)), line.expect_ok)
            line.send(_command(b"CLIENT", b"SETNAME", b"yg-scan-" + lease_id.encode()), line.expect_ok)
            if previous is not None:  # the old line's lease ended when the line did: writers need not wait
                line.send(_command(b"DEL", LEASE_PREFIX + previous), line.ignore)
                line.send(_command(b"SREM", LEASES_KEY, previous), line.ignore)
            line.send(_command(b"SUBSCRIBE", CHANNEL_PREFIX + str(params.db or 0)), line.expect_subscribed)
            self._renew()
        except Exception as exc:
            log.warning("verify cache bypassed, Redis unreachable: %s", type(exc).__name__)
            self._retry_at = time.monotonic() + _RETRY_AFTER
            self._retry_later()
        finally:
            self._connecting = None

    def _retry_later(self) -> None:
        # Back in sync without waiting for a scan to notice, so the first scan after an outage hits.
        # The timer retries whatever `_retry_at` says: uvloop measures the delay from its cached
        # loop time, a few ms behind time.monotonic(), so its timers fire "early" by our clock, and a
        # timer that deferred to `_retry_at` would then never retry (only a scan would reconnect).
        asyncio.get_running_loop().call_later(_RETRY_AFTER, self._resync, True)

    def _renew(self) -> None:
        """Register or renew this line's lease; trust follows the answer (sent after the
        subscription, so the lease is never held by a line that might miss a message)."""
        self._renewal = None
        line, lease_id = self._line, self._lease_id
        if line is None or line.closed or lease_id is None:
            return
        sent = time.monotonic()
        ms = str(int(self.lease_seconds * 1000))
        line.send(_command(b"SET", LEASE_PREFIX + lease_id, b"1", b"PX", ms),
                  lambda reply: self._renewed(line, sent, reply))
        line.send(_command(b"SADD", LEASES_KEY, lease_id), line.expect_int)
        self._renewal = asyncio.get_running_loop().call_later(self.lease_seconds / 3, self._renew)

    def _renewed(self, line: _InvalidationLine, sent: float, reply: object) -> None:
        if reply != b"OK":
            line.close()
            return
        if line is not self._line or line.closed or not line.subscribed:
            return
        if self._trusted_until == 0.0:
            self.clear_local()  # a new line: nothing filled before it may be served
        # Redis set the key's expiry after `sent`; trusting a tenth less leaves room for clock drift.
        self._trusted_until = sent + self.lease_seconds * 0.9

    def _invalidated(self, line: _InvalidationLine, ack_key: bytes) -> None:
        """A committed change elsewhere: forget everything, then tell the writer."""
        self.clear_local()
        if line is self._line and self._lease_id is not None:
            line.send(_command(b"RPUSH", ack_key, self._lease_id), line.ignore)
            line.send(_command(b"PEXPIRE", ack_key, b"60000"), line.ignore)  # a late ack must not linger

    def _lost(self, line: _InvalidationLine) -> None:
        if line is self._line:
            self._trusted_until = 0.0
            self.clear_local()
            if self._renewal is not None:
                self._renewal.cancel()
                self._renewal = None
            if not self._closed:
                self._retry_at = time.monotonic() + _RETRY_AFTER
                self._retry_later()

    async def close(self) -> None:
        """Stop, giving the lease back so that no writer waits for this process."""
        self._closed = True
        if self._connecting is not None:
            self._connecting.cancel()
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None
        line, self._line, self._trusted_until = self._line, None, 0.0
        if line is not None and not line.closed and self._lease_id is not None:
            done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

            def given_back(reply: Any) -> None:
                if not done.done():
                    done.set_result(reply)

            line.send(_command(b"DEL", LEASE_PREFIX + self._lease_id), line.ignore)
            line.send(_command(b"SREM", LEASES_KEY, self._lease_id), given_back)
            try:
                async with asyncio.timeout(1.0):
                    await done
            except TimeoutError:
                pass
        if line is not None:
            line.close()

    def knows(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str, version: int | None) -> tuple[bool, dict[str, Any] | None]:
        entry = self._entries.get(key)
        if entry is None or version is None or entry[0] != version or entry[1] < time.monotonic():
            return False, None
        return True, entry[2]

    def put(self, key: str, version: int | None, value: dict[str, Any] | None) -> None:
        # A read that began before an invalidation carries the old generation and is never served.
        if version is None or version != self._generation:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude but bounded; a full reload costs one query per token
        self._entries[key] = (version, time.monotonic() + self.ttl, value)

    def clear_local(self) -> None:
        self._generation += 1
        self._entries.clear()

    async def invalidate(self) -> None:
        """After a committed change: clear this process's caches, then (with Redis) publish and wait
        until every other serving process has cleared its own, or its lease has run out."""
        own = set()
        for cache in list(_LOCAL_CACHES):
            cache.clear_local()
            if cache._lease_id is not None:
                own.add(cache._lease_id)
        if self.redis is None:
            return
        params = self.redis.connection_pool.connection_kwargs
        ack_key = ACK_PREFIX + uuid.uuid4().hex
        try:
            live = await self.redis.eval(_PUBLISH_SCRIPT, 2, VERSION_KEY, LEASES_KEY,
                                         CHANNEL_PREFIX + str(params.get("db") or 0), ack_key, LEASE_PREFIX)
        except Exception:
            log.error("could not publish the verify cache invalidation; other processes may lag")
            return
        start = time.monotonic()
        waiting: dict[str, float] = {}
        for i in range(0, len(live), 2):
            lease = live[i].decode() if isinstance(live[i], bytes) else str(live[i])
            if lease not in own:
                waiting[lease] = start + min(int(live[i + 1]) / 1000, MAX_WRITER_WAIT)
        try:
            while waiting:
                now = time.monotonic()
                for lease in [lease for lease, until in waiting.items() if until <= now]:
                    del waiting[lease]  # its process stopped trusting its cache before now
                    log.warning("verify cache: a serving process did not confirm an invalidation; "
                                "waited out its lease")
                if not waiting:
                    break
                # Never 0 (BLPOP's "forever"); at most 1 s a call, below the pool's socket timeout.
                block = max(0.01, min(1.0, min(waiting.values()) - now))
                got = await self.redis.blpop([ack_key], timeout=block)
                if got is not None:
                    acked = got[1].decode() if isinstance(got[1], bytes) else str(got[1])
                    waiting.pop(acked, None)
        except Exception:
            log.error("verify cache: Redis failed while waiting for confirmations; other processes may lag")
        finally:
            try:
                await self.redis.delete(ack_key)
            except Exception:
                pass


def _command(*parts: bytes | str) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Incomplete(Exception):
    pass


class Push(list[Any]):
    """A RESP3 push (``>``): a message of the subscription, not the reply to a command."""


def _parse(buf: bytearray, pos: int) -> tuple[Any, int]:
    """One RESP2/RESP3 value at ``pos``: (value, position after it); _Incomplete if not all here."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind, head = buf[pos], bytes(buf[pos + 1:end])
    after = end + 2
    if kind in (36, 61, 33):  # $ bulk, = verbatim, ! bulk error
        size = int(head)
        if size < 0:
            return None, after
        if len(buf) < after + size + 2:
            raise _Incomplete
        data = bytes(buf[after:after + size])
        if kind == 33:
            return RedisReplyError(data.decode(errors="replace")), after + size + 2
        return (data[4:] if kind == 61 else data), after + size + 2
    if kind in (43, 40, 44):  # + simple, ( big number, , double
        return head, after
    if kind == 58:  # : integer
        return int(head), after
    if kind == 45:  # - error
        return RedisReplyError(head.decode(errors="replace")), after
    if kind == 95:  # _ null
        return None, after
    if kind == 35:  # # boolean
        return head == b"t", after
    if kind in (42, 126, 62, 37, 124):  # * array, ~ set, > push, % map, | attribute
        count = int(head)
        if count < 0:
            return None, after
        items: list[Any] = []
        for _ in range(count * 2 if kind in (37, 124) else count):
            item, after = _parse(buf, after)
            items.append(item)
        if kind == 124:  # an attribute annotates the value that follows it: skip to that value
            return _parse(buf, after)
        if kind == 37:
            return dict(zip(items[::2], items[1::2], strict=True)), after
        return (Push(items) if kind == 62 else items), after
    raise ValueError(f"unexpected RESP type {kind!r}")


class _InvalidationLine(asyncio.Protocol):
    """One RESP3 connection per serving cache: its lease, its subscription, its acknowledgements.

    One connection on purpose: Redis answers it in order, so every invalidation published before a
    lease renewal reaches this process before the renewal's answer, and a cache extends its trust
    only after it has handled every invalidation sent before. Replies are parsed where they arrive
    (``data_received``) and handed to their command's callback; pushes go to ``on_message``. A reply
    that does not come within ``timeout`` seconds, or any protocol surprise, closes the line.
    """

    def __init__(self, timeout: float, on_message: Callable[[_InvalidationLine, bytes], None],
                 on_lost: Callable[[_InvalidationLine], None]) -> None:
        self.timeout = timeout
        self.on_message = on_message
        self.on_lost = on_lost
        self.closed = False
        self.subscribed = False
        self.transport: asyncio.Transport | None = None
        self._callbacks: collections.deque[Callable[[Any], None]] = collections.deque()
        self._buf = bytearray()
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, command: bytes, callback: Callable[[Any], None]) -> None:
        if self.closed or self.transport is None:
            callback(ConnectionError("invalidation line closed"))
            return
        self._callbacks.append(callback)
        self.transport.write(command)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.timeout, self._timed_out)

    def ignore(self, reply: Any) -> None:
        pass

    # A lost line fails what it was waiting for with a ConnectionError: that is the loss (logged
    # where the cache notices it), not Redis refusing anything.
    def expect_ok(self, reply: Any) -> None:
        if reply != b"OK":
            if not isinstance(reply, ConnectionError):
                log.warning("verify cache: Redis refused the invalidation line's handshake")
            self.close()

    def expect_map(self, reply: Any) -> None:
        if not isinstance(reply, dict):
            if not isinstance(reply, ConnectionError):
                log.warning("verify cache: Redis does not speak RESP3 (HELLO 3 needs Redis 6 or later)")
            self.close()

    def expect_int(self, reply: Any) -> None:
        if not isinstance(reply, int):
            self.close()

    def expect_subscribed(self, reply: Any) -> None:
        if isinstance(reply, list) and reply and reply[0] == b"subscribe":
            self.subscribed = True
        else:
            if not isinstance(reply, ConnectionError):
                log.warning("verify cache: Redis refused the invalidation subscription")
            self.close()

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos = 0
        try:
            while pos < len(buf) and not self.closed:
                try:
                    value, pos = _parse(buf, pos)
                except _Incomplete:
                    break
                if isinstance(value, Push):
                    kind = value[0] if value else None
                    if kind == b"message" and len(value) == 3:
                        self.on_message(self, value[2])
                        continue
                    if kind != b"subscribe":
                        continue  # other pushes (e.g. tracking) are not ours to act on
                    # RESP3 answers SUBSCRIBE with a push: it is that command's reply
                if not self._callbacks:
                    raise ValueError("reply to no command")
                self._callbacks.popleft()(value)
                self._restart_timer()
        except ValueError:
            log.warning("verify cache: unexpected data on the invalidation line")
            self.close()
        del buf[:pos]

    def _restart_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._callbacks and not self.closed:
            self._timer = asyncio.get_running_loop().call_later(self.timeout, self._timed_out)

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
        self.subscribed = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        failure = ConnectionError("invalidation line lost")
        while self._callbacks:
            self._callbacks.popleft()(failure)
        self.on_lost(self)


class RedisReplyError(Exception):
    """An error reply (``-ERR …``) on the invalidation line."""


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
    " o.agency_id, a.region AS agency_region"
    " FROM credential c JOIN officer o ON o.id = c.officer_id JOIN agency a ON a.id = o.agency_id"
    " WHERE c.token_hash = {param}"
)


async def _load_view(key: str, today: date) -> dict[str, Any] | None:
    from backend.services.registers import public as registers

    conn = Credential._meta.db
    param = "$1" if conn.capabilities.dialect == "postgres" else "?"
    rows = await conn.execute_query_dict(_VIEW_SQL.format(param=param), [key])
    if not rows:
        return None
    row = dict(rows[0])
    # The complaint phone is the one of the agency's register (主体资格) in effect today: its one home.
    agency_id = row["agency_id"] if isinstance(row["agency_id"], uuid.UUID) else uuid.UUID(str(row["agency_id"]))
    own = await registers.own_register(agency_id, today)
    row["agency_phone"] = str(own.in_effect.content.get("complaint_phone", "")) if own and own.in_effect else ""
    # A published version taking effect later: the view is reloaded on that day.
    row["reload_on"] = min((v.effective_from for v in own.versions if v.effective_from > today),
                           default=None) if own else None
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
        version = self.cache.version()  # no I/O: invalidation is pushed (VerifyCache)
        hit, view = self.cache.get(token, version)
        today = self.clock.today() if today is None else today
        if not hit or (view is not None and view["reload_on"] is not None and today >= view["reload_on"]):
            self.db_lookups += 1
            view = await _load_view(tokens.token_hash(token), today)
            self.cache.put(token, version, view)
        if view is None:
            return None
        status = effective_status(view["status"], view["valid_from_date"], view["valid_until_date"], today)
        return Verified(view["id"], status, view)

    def cached(self, token: str, today: date) -> Verified | None:
        """``verify``'s answer from the cache alone, for a token the cache holds a live view of; None
        whenever ``verify`` would have to check the MAC or ask the database (a miss, an entry of an
        older generation, a view due to reload, a token known to name nothing). No I/O, no await."""
        if not self.cache.knows(token):
            return None
        hit, view = self.cache.get(token, self.cache.version())
        if not hit or view is None or (view["reload_on"] is not None and today >= view["reload_on"]):
            return None
        status = effective_status(view["status"], view["valid_from_date"], view["valid_until_date"], today)
        return Verified(view["id"], status, view)


def _public_view(row: dict[str, Any]) -> dict[str, Any]:
    """Only the public fields of R-D2 ever enter the cache, so nothing else can leave through it."""
    view: dict[str, Any] = {
        "id": row["id"] if isinstance(row["id"], uuid.UUID) else uuid.UUID(str(row["id"])),
        "status": C(row["status"]),
        "valid_from_date": row["valid_from"],
        "valid_until_date": row["valid_until"],
        "reload_on": row["reload_on"],
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
