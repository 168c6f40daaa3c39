"""The full-process record over HTTP (R-R1, R-R5): assign officers, append steps, read the timeline,
and a supervisor's retrieval that the agency can see was made."""

from __future__ import annotations

from datetime import date

from backend.app_keys import CLOCK
from backend.models.enums import Role
from tests.factories import a_supervisor, an_agency, officer_body, publish
from tests.notifications.helpers import a_case


async def an_officer_with_a_card(client, agency, **fields):  # type: ignore[no-untyped-def]
    resp = await client.post("/api/v1/officers", json=officer_body(**fields), headers=agency.auth())
    assert resp.status == 201, await resp.text()
    officer = await resp.json()
    until = date(client.app[CLOCK].today().year + 2, 12, 31).isoformat()
    resp = await client.post(f"/api/v1/officers/{officer['id']}/credentials", json={"valid_until": until},
                             headers=agency.auth())
    assert resp.status == 201, await resp.text()
    return officer


async def a_worked_case(client, agency):  # type: ignore[no-untyped-def]
    case = await a_case(client, agency.auth(), n_parties=1)
    a = await an_officer_with_a_card(client, agency, name="张执法")
    b = await an_officer_with_a_card(client, agency, name="李执法")
    resp = await client.post(f"/api/v1/cases/{case['id']}/officers", headers=agency.auth(),
                             json={"lead_officer_id": a["id"], "assistant_officer_ids": [b["id"]]})
    assert resp.status == 200, await resp.text()
    team = await resp.json()
    assert [(o["name"], o["role"]) for o in team["officers"]] == [("张执法", "lead"), ("李执法", "assistant")]
    return case, [a, b]


def a_step(client, officers, **changes):  # type: ignore[no-untyped-def]
    at = client.app[CLOCK].now().isoformat()  # just after the cards were issued
    body = {"step": "interview", "occurred_at": at, "place": "西湖区某路1号",
            "officer_ids": [o["id"] for o in officers], "credential_shown": True, "text": "询问当事人。",
            "party_signature": "signed"}
    body.update(changes)
    return body


async def test_a_step_is_appended_and_shows_on_the_timeline_with_its_officers_and_author(client):
    agency = await an_agency()
    case, officers = await a_worked_case(client, agency)
    officer_key = await agency.key(Role.OFFICER)
    resp = await client.post(f"/api/v1/cases/{case['id']}/records", json=a_step(client, officers),
                             headers=agency.auth(officer_key))
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert created["seq"] == 2 and isinstance(created["id"], int)  # 1 is the start written at 立案

    timeline = await (await client.get(f"/api/v1/cases/{case['id']}/records", headers=agency.auth())).json()
    steps = [(r["seq"], r["step"]) for r in timeline["items"]]
    assert steps == [(1, "start"), (2, "interview")]
    entry = timeline["items"][1]
    assert [o["name"] for o in entry["officers"]] == ["张执法", "李执法"]
    assert all(o["credential_valid"] and o["credential_shown"] for o in entry["officers"])
    assert (entry["actor_name"], entry["actor_role"]) == ("测试officer", "officer")
    case_view = await (await client.get(f"/api/v1/cases/{case['id']}", headers=agency.auth())).json()
    assert case_view["status"] == "investigating"


async def test_each_rule_is_a_stable_422_over_http(client):
    agency = await an_agency()
    case, officers = await a_worked_case(client, agency)
    url = f"/api/v1/cases/{case['id']}/records"
    cases = [
        (a_step(client, officers[:1]), "officers_insufficient"),
        (a_step(client, officers, party_signature="not_required"), "signature_required"),
        (a_step(client, officers, party_signature="refused"), "refusal_note_required"),
        (a_step(client, officers, step="seizure"), "av_required"),
        (a_step(client, officers, step="publication"), "validation_error"),
        (a_step(client, officers, occurred_at="2026-11-20T10:00:00"), "validation_error"),  # no time zone
        # Beijing time of this moment is before year 1: a 422, never an OverflowError's 500
        (a_step(client, officers, occurred_at="0001-01-01T00:00:00+14:00"), "validation_error"),
    ]
    for body, code in cases:
        resp = await client.post(url, json=body, headers=agency.auth())
        assert resp.status == 422, (code, await resp.text())
        assert (await resp.json())["error"]["code"] == code
    timeline = await (await client.get(url, headers=agency.auth())).json()
    assert [r["step"] for r in timeline["items"]] == ["start"]  # nothing half-written


async def test_another_agency_can_neither_read_nor_write_the_record(client):
    mine, theirs = await an_agency("甲局"), await an_agency("乙局")
    case, officers = await a_worked_case(client, mine)
    for method, path in (("GET", "records"), ("GET", "officers"), ("GET", "full-record")):
        resp = await client.request(method, f"/api/v1/cases/{case['id']}/{path}", headers=theirs.auth())
        assert resp.status == 404
    resp = await client.post(f"/api/v1/cases/{case['id']}/records", json=a_step(client, officers),
                             headers=theirs.auth())
    assert resp.status == 404
    reviewer = await mine.key(Role.REVIEWER)
    resp = await client.post(f"/api/v1/cases/{case['id']}/records", json=a_step(client, officers),
                             headers=mine.auth(reviewer))
    assert resp.status == 403


async def test_a_supervisor_retrieves_the_full_record_and_the_agency_sees_who_did(client):
    agency, supervisor = await an_agency(), await a_supervisor()
    case, officers = await a_worked_case(client, agency)
    await client.post(f"/api/v1/cases/{case['id']}/records", json=a_step(client, officers), headers=agency.auth())
    resp = await client.get(f"/api/v1/cases/{case['id']}/full-record", headers=supervisor.auth())
    assert resp.status == 200, await resp.text()
    full = await resp.json()
    assert [s["step"] for s in full["steps"]] == ["start", "interview"]
    assert {o["name"] for o in full["officers"]} == {"张执法", "李执法"}
    assert full["agency_id"] == str(agency.agency.id)
    assert "13" not in str(full["parties"])  # names and kinds only, no contact data

    for viewer in (agency, supervisor):
        resp = await client.get(f"/api/v1/record-accesses?case_id={case['id']}", headers=viewer.auth())
        assert resp.status == 200, await resp.text()
        items = (await resp.json())["items"]
        assert [(i["kind"], i["actor_name"], i["actor_role"]) for i in items] == [
            ("full_record", "测试监督员", "supervisor")]
    other = await an_agency("乙局")
    resp = await client.get(f"/api/v1/record-accesses?case_id={case['id']}", headers=other.auth())
    assert resp.status == 404
    assert (await (await client.get("/api/v1/record-accesses", headers=other.auth())).json())["total"] == 0


async def test_every_item_of_the_full_record_names_its_leaf_of_the_log(client):
    # R-R5: steps, evidence, decision versions and reviews (each event) with the leaf that holds them.
    from tests.backend.test_evidence_api import CT, form, video
    from tests.backend.test_reviews_api import CHECKLIST, SUBMISSION, a_key, an_officer
    from tests.notifications.helpers import a_decision

    agency, supervisor = await an_agency(), await a_supervisor()
    case, officers = await a_worked_case(client, agency)
    await client.post(f"/api/v1/cases/{case['id']}/records", json=a_step(client, officers), headers=agency.auth())
    resp = await client.post(f"/api/v1/cases/{case['id']}/evidence", data=form(video(4096)),
                             headers={**agency.auth(), **CT})
    assert resp.status == 201, await resp.text()
    resp = await client.post(f"/api/v1/cases/{case['id']}/reviews", json=SUBMISSION, headers=agency.auth())
    assert resp.status == 201, await resp.text()
    review = await resp.json()
    reviewer = await an_officer(client, agency, name="王法制", unit="法制科", is_legal_reviewer=True)
    key = await a_key(client, agency, "reviewer", officer_id=reviewer["id"])
    resp = await client.post(f"/api/v1/reviews/{review['id']}/opinion", headers=agency.auth(key),
                             json={"outcome": "approve", "reasons": "事实清楚。", "checklist": CHECKLIST})
    assert resp.status == 200, await resp.text()
    decision = await a_decision(client, agency.auth(), case["id"])
    assert (await publish(client, decision["id"], agency.auth())).status == 200

    full = await (await client.get(f"/api/v1/cases/{case['id']}/full-record", headers=supervisor.auth())).json()
    expected: list[tuple[int | None, str, str]] = []  # (leaf index, kind, what the leaf must name)
    expected += [(s["leaf_index"], "case_record", str(s["seq"])) for s in full["steps"]]
    expected += [(e["leaf_index"], "evidence", e["id"]) for e in full["evidence"]]
    expected += [(v["leaf_index"], "decision_event", d["document_no"])
                 for d in full["decisions"] for v in d["versions"]]
    [round_] = full["reviews"]
    assert [e["kind"] for e in round_["events"]] == ["submit", "opinion"]
    assert round_["leaf_index"] == round_["events"][0]["leaf_index"]
    expected += [(e["leaf_index"], "review_opinion" if e["kind"] == "opinion" else "review_event", review["id"])
                 for e in round_["events"]]
    assert {k for _, k, _ in expected} == {"case_record", "evidence", "decision_event", "review_event",
                                           "review_opinion"}
    for index, kind, name in expected:
        assert isinstance(index, int), (kind, name)
        resp = await client.get(f"/api/v1/log/entries/{index}", headers=supervisor.auth())
        assert resp.status == 200, await resp.text()
        leaf = await resp.json()
        assert leaf["kind"] == kind and leaf["content"]["data"]["case_id"] == case["id"]
        assert name in str(leaf["content"]["data"]), (kind, name)
