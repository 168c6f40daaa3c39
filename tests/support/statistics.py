"""Request helpers for annual statistics (统计年报): a year's figures recorded as an agency records
them (a case of a natural person, a fined decision, a reconsideration and its outcome), submitted and
published over HTTP."""

from __future__ import annotations

from typing import Any

PERSON = {"kind": "person", "name": "张三丰", "phone": "13800138000", "id_number": "330106199001011234"}


async def a_fined_decision_appealed(client, auth: dict[str, str], year: int,  # type: ignore[no-untyped-def]
                                    fine: str = "2000.00") -> dict[str, Any]:
    """A penalty case of a natural person decided on 1 June of ``year`` with ``fine`` (yuan), and a
    reconsideration filed on 1 July, upheld on 1 September. The case."""
    resp = await client.post("/api/v1/cases", json={"title": "无照经营", "type": "penalty", "parties": [PERSON]},
                             headers=auth)
    assert resp.status == 201, await resp.text()
    case = await resp.json()
    resp = await client.post(f"/api/v1/cases/{case['id']}/decisions", headers=auth, json={
        "document_no": f"杭西市监罚〔{year}〕{case['number']}号", "summary": "罚款。",
        "decided_at": f"{year}-06-01", "amount": fine, "measures": ["fine"]})
    assert resp.status == 201, await resp.text()
    decision = await resp.json()
    url = f"/api/v1/cases/{case['id']}/remedies"
    resp = await client.post(url, headers=auth, json={
        "kind": "reconsideration", "outcome": "pending", "decision_id": decision["id"],
        "filed_on": f"{year}-07-01", "authority": "杭州市西湖区人民政府"})
    assert resp.status == 201, await resp.text()
    resp = await client.post(url, headers=auth, json={
        "proceeding_id": (await resp.json())["id"], "outcome": "upheld", "decided_on": f"{year}-09-01",
        "document_no": f"西政复〔{year}〕9号"})
    assert resp.status == 201, await resp.text()
    return case


async def submit_and_publish(client, auth: dict[str, str], year: int, reason: str = "") -> None:  # type: ignore[no-untyped-def]
    resp = await client.post(f"/api/v1/statistics/{year}/submit", headers=auth, json={"reason": reason})
    assert resp.status == 200, await resp.text()
    resp = await client.post(f"/api/v1/statistics/{year}/publish", headers=auth)
    assert resp.status == 200, await resp.text()
