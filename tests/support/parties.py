"""Request helpers for the parties' mini-program: sign in, bind to a case."""

from __future__ import annotations

from typing import Any


async def sign_in(client, code: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """POST /mp/v1/session; the Authorization header of the new session."""
    resp = await client.post("/mp/v1/session", json={"code": code})
    assert resp.status == 201, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['session_token']}"}


async def bind(client, session: dict[str, str], case: dict[str, Any], party: int = 0,  # type: ignore[no-untyped-def]
               code: str | None = None):
    """POST /mp/v1/me/cases with the case's number and a party's binding code (the response)."""
    body = {"case_number": case["number"], "binding_code": code or case["parties"][party]["binding_code"]}
    return await client.post("/mp/v1/me/cases", json=body, headers=session)
