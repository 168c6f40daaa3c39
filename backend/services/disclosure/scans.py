"""亮证 records: scans recorded in the background (batched inserts), listed; citizens' ratings."""

from __future__ import annotations

import asyncio
import collections
import logging
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from backend import metrics
from backend.errors import ValidationFailed
from backend.models import Officer, Rating, Scan
from backend.models.enums import CredentialStatus, ScanChannel
from backend.services.officers import officer_not_found
from backend.services.scope import scoped

log = logging.getLogger("yangguang.credentials")


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
        # Counted per batch, off the request's path: what citizens were shown, stored or not.
        metrics.count_scans(collections.Counter((r[2], r[3]) for r in batch).items())
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
                # One statement over one JSON array, as on PostgreSQL: executemany releases and
                # re-takes the GIL around every row's step, and each re-take waits on the event loop
                # (the whole batch, checks included, now runs in SQLite's C code in one go).
                await conn.execute_query(_SQLITE_INSERT.format(columns=columns), [orjson.dumps(
                    [r if r[4] is None and r[5] is None else (*r[:4], _coarse_text(r[4]), _coarse_text(r[5]))
                     for r in batch]).decode()])  # text: SQLite ≥ 3.45 would read a BLOB as JSONB
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


def _coarse_text(value: float | None) -> str | None:
    # What SQLite stored for coarse(value) through the Decimal adapter: its text.
    return None if value is None else str(coarse(value))


# Each element of the JSON array is one scan: [credential_id, scanned_at, channel, status, lat, lng].
# orjson writes the instant as RFC 3339 ("…T…+08:00"); the column holds what the ORM's adapter writes,
# isoformat(" "), so the one "T" becomes a space.
_SQLITE_INSERT = (
    "{columns} SELECT json_extract(value, '$[0]'), replace(json_extract(value, '$[1]'), 'T', ' '),"
    " json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]'),"
    " json_extract(value, '$[5]') FROM json_each(?)"
)



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
