"""Officer credentials (R-C1..R-C6): lifecycle, verification of a scanned token, scans and ratings.

The lifecycle follows ``states.CREDENTIAL``; every change is audited in the same transaction and,
after commit, invalidates the verify cache of every process (through a version counter in Redis
when configured), so a suspension shows on the very next scan anywhere.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, DomainError, NotFound, ValidationFailed
from backend.files import write_private
from backend.models import Agency, Credential, Officer, Rating, Scan
from backend.models.enums import CredentialStatus, OfficerKind, OfficerStatus, ScanChannel
from backend.services import audit
from backend.services.officers import officer_not_found, search_filter
from backend.services.scope import scoped, visible_one
from backend.services.states import CREDENTIAL
from qr import sheet, tokens
from qr.keys import KeyRing, load_keyring
from qr.sheet import CardData

log = logging.getLogger("yangguang.credentials")

C = CredentialStatus
# States in which a credential is the officer's current card (expiry aside).
CURRENT = (C.VALID, C.SUSPENDED)
MAX_VALIDITY = timedelta(days=366 * 10)
VERSION_KEY = "yg:cred:version"


class QrKeyMissing(DomainError):
    status = 409
    code = "qr_key_missing"
    message = "签发该证件二维码的密钥已不存在，请补发证件"


def credential_not_found() -> NotFound:
    return NotFound("未找到该执法证件", code="credential_not_found")


def effective_status(stored: CredentialStatus | str, valid_from: date, valid_until: date,
                     today: date) -> CredentialStatus:
    """What a card shows today. Expiry is computed on read (a card is expired the day after its
    validity even before the cron runs), and a valid card whose validity has not begun is 未生效."""
    status = C(stored)
    if status in CURRENT and today > valid_until:
        return C.EXPIRED
    if status is C.VALID and today < valid_from:
        return C.NOT_YET_VALID
    return status


def verify_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/v/{token}"


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

    def __init__(self, redis: Any = None, *, max_entries: int = 50_000, ttl: float = 300.0) -> None:
        self.redis = redis
        self.max_entries = max_entries
        self.ttl = ttl  # officer and agency names change rarely and without a bump; bound staleness
        self._local_version = 0
        # The waiters of the next Redis read: one plain future each, resolved in a loop. (Sharing one
        # future through asyncio.shield cost two extra call_soon callbacks and a future per scan.)
        self._waiting: list[asyncio.Future[int | None]] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._conn: Any = None  # the Redis connection the version reads use (see _get_version)
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
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[int | None] = loop.create_future()
        if self._waiting is None:
            self._waiting = [waiter]
            if self._reader is None:
                self._reader = loop.create_task(self._read_versions())
        else:
            self._waiting.append(waiter)
        return await waiter  # a cancelled scan cancels only its own future

    async def _read_versions(self) -> None:
        try:
            while self._waiting is not None:
                # Taken before the GET is sent: everyone in this batch arrived before the read.
                batch, self._waiting = self._waiting, None
                value: int | None
                try:
                    value = await self._get_version()
                except Exception as exc:  # Redis down: correctness first, read the database
                    log.warning("verify cache bypassed, Redis unreachable: %s", type(exc).__name__)
                    value = None
                for waiter in batch:
                    if not waiter.done():
                        waiter.set_result(value)
        finally:
            self._reader = None

    async def _get_version(self) -> int:
        # One connection of the shared pool, held by this cache: a plain send + read on it skips
        # redis-py's per-command pool checkout, lock and retry wrapper (~3 % of a scan's CPU, as
        # the GET is the only Redis call of a warm scan). Any failure drops it, so the next read
        # starts on a fresh connection; the pool still owns it and closes it on shutdown.
        conn = self._conn
        if conn is None:
            conn = self._conn = await self.redis.connection_pool.get_connection()
        try:
            await conn.send_command("GET", VERSION_KEY)
            return int(await conn.read_response() or 0)
        except BaseException:
            self._conn = None
            await conn.disconnect()
            await self.redis.connection_pool.release(conn)
            raise

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


async def _invalidate(cache: VerifyCache | None) -> None:
    if cache is not None:
        await cache.invalidate()
    else:
        for local in list(_LOCAL_CACHES):
            local.clear_local()


# --- scans -----------------------------------------------------------------------------------------


class ScanRecorder:
    """Buffers scans and writes them in batches after the response, so the citizen never waits on it."""

    def __init__(self, delay: float = 1.0, max_batch: int = 2000) -> None:
        self.delay = delay
        self.max_batch = max_batch
        # Plain tuples: model objects are built at flush time, off the request's path.
        self._buffer: list[tuple[Any, ...]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, credential_id: uuid.UUID, at: datetime, channel: ScanChannel, status: CredentialStatus,
            lat: float | None = None, lng: float | None = None) -> None:
        self._buffer.append((credential_id, at, channel, status, lat, lng))
        if len(self._buffer) >= self.max_batch:
            self._kick()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.delay, self._kick)

    def _kick(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task = asyncio.get_running_loop().create_task(self.flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> int:
        batch, self._buffer = self._buffer, []
        if not batch:
            return 0
        try:
            # Plain values, no model objects: building thousands of them a second would cost the
            # event loop more than the scans themselves.
            conn = Scan._meta.db
            columns = (f"INSERT INTO {Scan._meta.db_table} (credential_id, scanned_at, channel, status_shown,"
                       " latitude, longitude)")
            if conn.capabilities.dialect == "postgres":
                # One statement with one array per column: executemany costs PostgreSQL a Bind/Execute
                # per row, and it shares the cores with the server; this is one plan, one round trip.
                await conn.execute_query(
                    f"{columns} SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[],"
                    " $5::numeric[], $6::numeric[])",
                    [[r[0] for r in batch], [r[1] for r in batch], [r[2].value for r in batch],
                     [r[3].value for r in batch], [coarse(r[4]) for r in batch], [coarse(r[5]) for r in batch]])
            else:
                await conn.execute_many(
                    f"{columns} VALUES (?, ?, ?, ?, ?, ?)",
                    [[str(c), at, ch.value, st.value, coarse(lat), coarse(lng)] for c, at, ch, st, lat, lng in batch])
        except Exception:
            log.exception("could not store %d scans", len(batch))
            return 0
        return len(batch)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flush()


def coarse(value: float | None) -> Decimal | None:
    """About 1 km: enough to place an encounter, not a home."""
    return None if value is None else Decimal(str(round(value, 2)))


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

    async def verify(self, token: str) -> Verified | None:
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
                                  self.clock.today())
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


# --- lifecycle -------------------------------------------------------------------------------------


async def _officer_for_update(agency_id: uuid.UUID, officer_id: uuid.UUID, tx: Any) -> Officer:
    officer = await Officer.filter(id=officer_id, agency_id=agency_id).select_for_update().using_db(tx).first()
    if officer is None:
        raise NotFound("未找到该执法人员", code="officer_not_found")
    return officer


def _check_validity(valid_from: date, valid_until: date, today: date) -> None:
    if valid_until < today:
        raise ValidationFailed("有效期截止日期已过", code="validity_in_past")
    if valid_until < valid_from:
        raise ValidationFailed("有效期截止日期不能早于起始日期", code="validity_reversed")
    if valid_until - valid_from > MAX_VALIDITY:
        raise ValidationFailed("证件有效期不能超过十年", code="validity_too_long")


async def issue(
    agency_id: uuid.UUID, officer_id: uuid.UUID, *, valid_from: date | None, valid_until: date, actor: str,
    keys: KeyStore, clock: Clock, cache: VerifyCache | None = None,
) -> tuple[Credential, str]:
    """A new credential for an enforcement officer; returns the row and its token (shown on the card)."""
    today = clock.today()
    valid_from = valid_from or today
    _check_validity(valid_from, valid_until, today)
    async with in_transaction() as tx:
        officer = await _officer_for_update(agency_id, officer_id, tx)
        if officer.kind is OfficerKind.AUXILIARY:
            raise Conflict("辅助人员不持有行政执法证件", code="auxiliary_staff_hold_no_credential")
        if officer.status is not OfficerStatus.ACTIVE or not officer.certificate_no:
            raise Conflict("该人员已离岗或没有执法证号，不能发证", code="officer_not_eligible")
        current = await Credential.filter(officer_id=officer.id, status__in=list(CURRENT),
                                          valid_until__gte=today).using_db(tx).exists()
        if current:
            raise Conflict("该人员已有在用证件；如需换发请使用补发", code="credential_exists")
        seed, token = keys.mint()
        cred = await Credential.create(officer_id=officer.id, token_hash=tokens.token_hash(token), token_seed=seed,
                                       valid_from=valid_from, valid_until=valid_until, using_db=tx)
        await audit.record(actor, "credential.issue", "credential", cred.id, agency_id=agency_id,
                           data={"officer_id": str(officer.id), "valid_from": valid_from.isoformat(),
                                 "valid_until": valid_until.isoformat()})
    await _invalidate(cache)
    return cred, token


async def get_credential(agency_id: uuid.UUID | None, credential_id: uuid.UUID) -> Credential:
    return await visible_one(Credential.filter(id=credential_id), agency_id, credential_not_found(),
                             field="officer__agency_id")


async def list_for_officer(agency_id: uuid.UUID | None, officer_id: uuid.UUID) -> list[Credential]:
    await _officer_visible(agency_id, officer_id)
    return await Credential.filter(officer_id=officer_id).order_by("-issued_at")


async def _locked(agency_id: uuid.UUID | None, credential_id: uuid.UUID, tx: Any) -> tuple[Credential, uuid.UUID]:
    """Lock the credential row only (no join), after checking its officer belongs to the agency
    (``None``: the supervisor, who reaches every agency). Returns it with its holder's agency."""
    cred = await Credential.filter(id=credential_id).select_for_update().using_db(tx).first()
    owners = await scoped(Officer.filter(id=cred.officer_id), agency_id).using_db(tx).values_list(
        "agency_id", flat=True) if cred is not None else []
    if cred is None or not owners:
        raise credential_not_found()
    return cred, owners[0]  # type: ignore[return-value]  # flat values_list: one UUID


def _stored_view(cred: Credential, today: date) -> CredentialStatus:
    # Transitions act on the stored state, with expiry applied; "not yet valid" is a display state
    # of a valid card and may be suspended, revoked or reissued like one.
    status = effective_status(cred.status, cred.valid_from, cred.valid_until, today)
    return C.VALID if status is C.NOT_YET_VALID else status


async def change(
    agency_id: uuid.UUID | None, credential_id: uuid.UUID, action: str, *, actor: str, reason: str, clock: Clock,
    cache: VerifyCache | None = None,
) -> Credential:
    """suspend / reinstate / revoke through the transition table, audited with who and why.
    ``agency_id`` None: the supervisor (司法局), who may suspend and revoke any agency's cards."""
    if action not in ("suspend", "reinstate", "revoke"):
        raise ValueError(action)
    if action in ("suspend", "revoke") and not reason.strip():
        raise ValidationFailed("暂扣或注销证件必须说明理由", code="reason_required")
    async with in_transaction() as tx:
        cred, owner = await _locked(agency_id, credential_id, tx)
        before = _stored_view(cred, clock.today())
        after = CREDENTIAL.next(before, action)
        cred.status = after
        cred.status_reason = reason.strip()
        await cred.save(using_db=tx, update_fields=["status", "status_reason", "updated_at"])
        await audit.record(actor, f"credential.{action}", "credential", cred.id, agency_id=owner,
                           data={"from": before.value, "to": after.value, "reason": cred.status_reason})
    await _invalidate(cache)
    return cred


async def reissue(
    agency_id: uuid.UUID, credential_id: uuid.UUID, *, actor: str, reason: str, valid_until: date | None,
    keys: KeyStore, clock: Clock, cache: VerifyCache | None = None,
) -> tuple[Credential, str]:
    """A new card with a new token; the old one becomes void at once (已作废).

    A suspended card's successor stays suspended: reissuing is not a way around a suspension.
    """
    today = clock.today()
    async with in_transaction() as tx:
        old, _ = await _locked(agency_id, credential_id, tx)
        before = _stored_view(old, today)
        CREDENTIAL.next(before, "reissue")  # raises when the table does not allow it
        until = valid_until or old.valid_until
        _check_validity(today, until, today)
        seed, token = keys.mint()
        new = await Credential.create(
            officer_id=old.officer_id, token_hash=tokens.token_hash(token), token_seed=seed, valid_from=today,
            valid_until=until, status=before, status_reason=old.status_reason if before is C.SUSPENDED else "",
            using_db=tx)
        old.status = C.VOID
        old.status_reason = reason.strip() or "补发新证"
        old.replaced_by_id = new.id
        await old.save(using_db=tx, update_fields=["status", "status_reason", "replaced_by_id", "updated_at"])
        await audit.record(actor, "credential.reissue", "credential", old.id, agency_id=agency_id,
                           data={"from": before.value, "to": C.VOID.value, "replaced_by": str(new.id),
                                 "reason": old.status_reason})
        await audit.record(actor, "credential.issue", "credential", new.id, agency_id=agency_id,
                           data={"officer_id": str(old.officer_id), "replaces": str(old.id),
                                 "valid_from": today.isoformat(), "valid_until": until.isoformat()})
    await _invalidate(cache)
    return new, token


async def expire_due(clock: Clock, cache: VerifyCache | None = None, actor: str = "system:expiry") -> int:
    """Persist expiry for every credential past its validity (a cron calls this; reads never wait for it)."""
    today = clock.today()
    ids = await Credential.filter(status__in=list(CURRENT), valid_until__lt=today).values_list("id", flat=True)
    done = 0
    for cid in ids:
        async with in_transaction() as tx:
            cred = await Credential.filter(id=cid).select_for_update().using_db(tx).first()
            if cred is None or cred.status not in CURRENT or cred.valid_until >= today:
                continue  # changed meanwhile; running twice is harmless
            before = C(cred.status)
            cred.status = CREDENTIAL.next(before, "expire")
            await cred.save(using_db=tx, update_fields=["status", "updated_at"])
            officer = await Officer.filter(id=cred.officer_id).using_db(tx).values("agency_id")
            await audit.record(actor, "credential.expire", "credential", cred.id,
                               agency_id=officer[0]["agency_id"] if officer else None,
                               data={"from": before.value, "to": cred.status.value,
                                     "valid_until": cred.valid_until.isoformat()})
            done += 1
    if done:
        await _invalidate(cache)
    return done


# Why a card cannot be printed, in the words of the verify page.
_NOT_PRINTABLE = {C.SUSPENDED: "暂扣", C.REVOKED: "注销", C.EXPIRED: "已过期", C.VOID: "已作废",
                  C.NOT_YET_VALID: "未生效"}


async def printable_credentials(agency_id: uuid.UUID, credential_ids: list[uuid.UUID] | None,
                                today: date) -> list[dict[str, Any]]:
    """Cards to print: the given ones (of this agency), or every card of the agency valid today.
    Only a card that verifies 有效 today is printed; asking for any other is a 409 naming each."""
    query = Credential.filter(officer__agency_id=agency_id)
    if credential_ids:
        query = query.filter(id__in=credential_ids)
    else:
        query = query.filter(status__in=list(CURRENT))
    rows = await query.order_by("officer__name", "id").values(
        "id", "token_seed", "status", "valid_from", "valid_until", name="officer__name",
        certificate_no="officer__certificate_no", categories="officer__categories", region="officer__region",
        photo_path="officer__photo_path", agency_name="officer__agency__name")
    if credential_ids and len(rows) != len(set(credential_ids)):
        raise credential_not_found()
    for row in rows:
        row["shown"] = effective_status(row["status"], row["valid_from"], row["valid_until"], today)
    refused = [r for r in rows if r["shown"] is not C.VALID]
    if refused and credential_ids:
        names = "、".join(f"{r['name']}（{_NOT_PRINTABLE[r['shown']]}）" for r in refused)
        raise Conflict(f"以下证件当前不是有效状态，不能打印：{names}", code="credentials_not_printable",
                       details=[{"credential_id": str(r["id"]), "status": r["shown"].value} for r in refused])
    return [r for r in rows if r["shown"] is C.VALID]


def card_for(row: dict[str, Any], base_url: str, keys: KeyStore) -> CardData:
    """What a printed card shows, from a ``current_credentials`` row; the token is re-derived with the key."""
    return CardData(
        name=row["name"], certificate_no=row["certificate_no"] or "", agency=row["agency_name"],
        url=verify_url(base_url, keys.token_for(row["token_seed"])), categories=tuple(row["categories"] or ()),
        region=row["region"] or "", valid_until=row["valid_until"].isoformat(),
        photo=_stored_photo(keys.data_dir, row["photo_path"]))


def _stored_photo(data_dir: Path, relative: str | None) -> bytes | None:
    """The officer's stored photo (services/photos.py), if any; never a file outside the data folder."""
    if not relative:
        return None
    root = data_dir.resolve()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path.read_bytes()


async def write_print_sheet(agency_id: uuid.UUID, out_dir: Path, base_url: str, keys: KeyStore, today: date,
                            progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Print sheets for every card of the agency valid today: one PNG per A4 page and one PDF of them all."""
    rows = await printable_credentials(agency_id, None, today)
    if not rows:
        return []
    cards = [card_for(r, base_url, keys) for r in rows]
    total = len(cards)
    def render_and_write() -> list[Path]:  # CPU and disk: off the event loop
        pages = sheet.pages(cards, (lambda done: progress(done, total)) if progress else None)
        written = []  # names and photos of officers: private files (backend.files)
        for i, page in enumerate(pages, 1):
            written.append(write_private(out_dir / f"print-sheet-{i:02d}.png", sheet.page_png(page)))
        pdf_path = write_private(out_dir / "print-sheet.pdf", sheet.pdf(pages))
        written.append(pdf_path)
        return written

    return await asyncio.to_thread(render_and_write)


# --- scans and ratings -----------------------------------------------------------------------------


async def list_scans(agency_id: uuid.UUID | None, officer_id: uuid.UUID, *, page: int,
                     page_size: int) -> tuple[list[dict[str, Any]], int]:
    await _officer_visible(agency_id, officer_id)
    query = Scan.filter(credential__officer_id=officer_id)
    total = await query.count()
    rows = await query.order_by("-scanned_at", "-id").offset((page - 1) * page_size).limit(page_size).values(
        "scanned_at", "channel", "status_shown", "latitude", "longitude", "credential_id")
    return rows, total


async def list_ratings(officer_id: uuid.UUID, *, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """Supervisor only: the officer's own agency never sees the ratings (R-C5)."""
    await _officer_visible(None, officer_id)
    query = Rating.filter(credential__officer_id=officer_id)
    total = await query.count()
    rows = await query.order_by("-created_at", "id").offset((page - 1) * page_size).limit(page_size).values(
        "id", "score", "text", "created_at", "credential_id")
    return rows, total


async def _officer_visible(agency_id: uuid.UUID | None, officer_id: uuid.UUID) -> None:
    if not await scoped(Officer.filter(id=officer_id), agency_id).exists():
        raise officer_not_found()


async def rate(credential_id: uuid.UUID, score: int, text: str) -> Rating:
    """An anonymous rating of an encounter; nothing about the citizen is stored."""
    if not 1 <= score <= 5:
        raise ValidationFailed("评分必须是 1 到 5", code="score_out_of_range")
    return await Rating.create(credential_id=credential_id, score=score, text=text.strip()[:500])


# --- public register -------------------------------------------------------------------------------


async def public_register(agency: str | None, q: str | None, *, today: date, page: int,
                          page_size: int) -> tuple[list[dict[str, Any]], int]:
    """Public fields only, of the people who may take part in enforcement today: officers holding a
    card valid today, and auxiliary staff (listed as such, with no certificate)."""
    may_enforce = Officer.filter(credentials__status=C.VALID, credentials__valid_from__lte=today,
                                 credentials__valid_until__gte=today).values_list("id", flat=True)
    query = Officer.filter(Q(status=OfficerStatus.ACTIVE)
                           & (Q(kind=OfficerKind.AUXILIARY) | Q(id__in=Subquery(may_enforce))))
    if agency:
        try:
            agency_filter = Q(agency_id=uuid.UUID(agency))
        except ValueError:
            agency_filter = Q(agency__credit_code=agency.upper())
        query = query.filter(agency_filter)
    if q:
        query = query.filter(search_filter(q))
    total = await query.count()
    rows = await query.order_by("name", "id").offset((page - 1) * page_size).limit(page_size).values(
        "id", "name", "kind", "certificate_no", "categories", "region", agency_name="agency__name",
        agency_code="agency__credit_code")
    return rows, total


async def agency_by_code(code: str) -> Agency | None:
    return await Agency.filter(credit_code=code.upper()).first()
