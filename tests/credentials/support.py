"""Helpers for credential tests: register an officer and issue a card through the real API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.app_keys import CLOCK
from backend.clock import Clock
from tests.factories import AgencyWithKeys, officer_body


def next_year(clock: Clock) -> str:
    """A year after the service's today (Shanghai's date, not the host's)."""
    return (clock.today() + timedelta(days=365)).isoformat()


async def an_officer(client: Any, agency: AgencyWithKeys, **fields: Any) -> dict[str, Any]:
    resp = await client.post("/api/v1/officers", json=officer_body(**fields), headers=agency.auth())
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def a_credential(client: Any, agency: AgencyWithKeys, officer: dict[str, Any] | None = None,
                       **body: Any) -> dict[str, Any]:
    officer = officer or await an_officer(client, agency)
    resp = await client.post(f"/api/v1/officers/{officer['id']}/credentials",
                             json={"valid_until": next_year(client.app[CLOCK]), **body}, headers=agency.auth())
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def act(client: Any, agency: AgencyWithKeys, credential_id: str, action: str, **body: Any) -> Any:
    return await client.post(f"/api/v1/credentials/{credential_id}/{action}", json=body, headers=agency.auth())
