"""Request helpers for the case → decision → notification flow."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

_seq = itertools.count(1)


def case_body(n_parties: int = 2, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "某餐饮店未按规定公示许可证案",
        "type": "penalty",
        "parties": [{"name": f"王{i}", "kind": "person", "phone": f"1390000{next(_seq) % 10000:04d}"}
                    for i in range(n_parties)],
    }
    body.update(overrides)
    return body


async def a_case(client, auth: dict[str, str], **kw: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = await client.post("/api/v1/cases", json=case_body(**kw), headers=auth)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def a_decision(client, auth: dict[str, str], case_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    body = {"document_no": f"杭西市监罚〔2026〕{next(_seq)}号", "summary": "责令改正，罚款人民币二千元。",
            "decided_at": "2026-11-20"}
    resp = await client.post(f"/api/v1/cases/{case_id}/decisions", json=body, headers=auth)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def notifications(client, auth: dict[str, str], case_id: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    resp = await client.get(f"/api/v1/notifications?case_id={case_id}&page_size=200", headers=auth)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["items"]


async def wait_for(client, auth, case_id, predicate, seconds: float = 10.0) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        items = await notifications(client, auth, case_id)
        if predicate(items):
            return items
        if loop.time() > deadline:
            raise AssertionError(f"condition not met: {items}")
        await asyncio.sleep(0.05)
