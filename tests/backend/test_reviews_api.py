"""Legal review over HTTP (R-L1..R-L6): the gate cannot be bypassed through any route, who may do
what, the public catalogue and the supervisor's views."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from backend.app_keys import CLOCK
from backend.models import Case, Decision
from backend.models.enums import Role
from backend.services.calendar import Calendar
from tests.factories import a_supervisor, an_agency, officer_body, publish
from tests.notifications.helpers import a_case, a_decision
from tests.support.endpoints import endpoints

CRITERIA = {"amount_thresholds": [
    {"case_type": "penalty", "measure": "fine", "party_kind": "person", "min_amount": "10000.00"}],
    "hearing_held": True}
CHECKLIST = {p: {"ok": True, "note": ""} for p in (
    "agency_lawful", "officers_qualified", "procedure_lawful", "facts_clear", "evidence_sufficient",
    "law_and_discretion_correct", "within_powers", "documents_complete", "rights_honoured", "crime_transfer")}
# Every route that creates a decision or puts its text before the public, and the one that does not.
GATED = {("POST", "/api/v1/cases/{case_id}/decisions"), ("POST", "/api/v1/decisions/{decision_id}/publish"),
         ("POST", "/api/v1/decisions/{decision_id}/correct")}
NOT_PUBLISHING = {
    ("POST", "/api/v1/decisions/{decision_id}/withdraw"),  # takes a decision out of public view
    ("POST", "/api/v1/decisions/{decision_id}/revocations"),  # starts the clock to take it out of view
    ("POST", "/api/v1/decisions/{decision_id}/credit-repair"),  # ends its publication early
    ("POST", "/api/v1/decisions/{decision_id}/preview"),  # computes a correction's preview, writes nothing
    ("POST", "/api/v1/reviews/{review_id}/head-decision"),  # records the head's meeting, registers nothing
}
BODIES: dict[str, dict[str, Any]] = {
    "decisions": {"document_no": "杭西市监罚〔2026〕999号", "summary": "罚款五百万元。", "decided_at": "2026-11-20"},
    "publish": {}, "correct": {"summary": "更正后的内容", "reason": "笔误"},
}


async def a_catalogue(client, agency) -> None:  # type: ignore[no-untyped-def]
    today = client.app[CLOCK].today().isoformat()
    resp = await client.put("/api/v1/major-catalogue", headers=agency.auth(),
                            json={"effective_from": today, "criteria": CRITERIA})
    assert resp.status == 200, await resp.text()


async def a_major_case(client, agency) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    case = await a_case(client, agency.auth(), n_parties=1)
    resp = await client.patch(f"/api/v1/cases/{case['id']}", headers=agency.auth(),
                              json={"amount": "5000000.00", "measures": ["fine"], "handling_unit": "执法一队"})
    assert resp.status == 200, await resp.text()
    facts = await resp.json()
    assert facts["is_major"] and facts["major_reasons"][0]["code"] == "amount"
    return case


async def becomes_major_after_deciding(case_id: str) -> None:
    # A hearing recorded after the decision was registered: the case is major now (the gate evaluates again).
    await Case.filter(id=case_id).update(hearing_held=True)


async def test_no_route_creates_or_publishes_a_decision_on_an_unreviewed_major_case(client):
    agency = await an_agency()
    await a_catalogue(client, agency)
    writing = {(ep.method, ep.path) for ep in endpoints(client.app)
               if ep.method in ("POST", "PUT", "PATCH") and "decision" in ep.path and ep.path.startswith("/api/")}
    assert writing == GATED | NOT_PUBLISHING, "a new decision route: add it to GATED (or say why it is not)"

    major = await a_major_case(client, agency)
    draft_case = await a_case(client, agency.auth(), n_parties=1)
    draft = await a_decision(client, agency.auth(), draft_case["id"])
    await becomes_major_after_deciding(draft_case["id"])
    published_case = await a_case(client, agency.auth(), n_parties=1)
    published = await a_decision(client, agency.auth(), published_case["id"])
    assert (await publish(client, published["id"], agency.auth())).status == 200
    await becomes_major_after_deciding(published_case["id"])
    # The case's own facts are not major, the decision is: a fine of 5,000,000 (issue 10's attack).
    plain_case = await a_case(client, agency.auth(), n_parties=1)
    grown_case = await a_case(client, agency.auth(), n_parties=1)
    grown = await a_decision(client, agency.auth(), grown_case["id"])
    await Decision.filter(id=grown["id"]).update(amount=Decimal("5000000"), measures=["fine"])
    grown_published_case = await a_case(client, agency.auth(), n_parties=1)
    grown_published = await a_decision(client, agency.auth(), grown_published_case["id"])
    assert (await publish(client, grown_published["id"], agency.auth())).status == 200
    await Decision.filter(id=grown_published["id"]).update(amount=Decimal("5000000"), measures=["fine"])
    targets = [({"case_id": major["id"], "publish": draft["id"], "correct": published["id"]}, {}),
               ({"case_id": plain_case["id"], "publish": grown["id"], "correct": grown_published["id"]},
                {"amount": "5000000.00", "measures": ["fine"]})]

    tried = 0
    for ids, decided in targets:
        for method, path in sorted(GATED):
            action = path.rsplit("/", 1)[1]
            url = path.replace("{case_id}", ids["case_id"]).replace("{decision_id}", ids.get(action, ""))
            payload = {**BODIES[action], **decided} if action == "decisions" else BODIES[action]
            for key in (agency.admin_key, await agency.key(Role.OFFICER)):
                resp = await client.request(method, url, json=payload, headers=agency.auth(key))
                body = await resp.json()
                assert resp.status == 409 and body["error"]["code"] == "review_required", (path, body)
                assert body["error"]["message"]
                tried += 1
    assert tried == 2 * 2 * len(GATED)


async def an_officer(client, agency, **fields: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = await client.post("/api/v1/officers", json=officer_body(**fields), headers=agency.auth())
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def a_key(client, agency, role: str, **holder: Any) -> str:  # type: ignore[no-untyped-def]
    resp = await client.post("/api/v1/keys", json={"role": role, **holder}, headers=agency.auth())
    assert resp.status == 201, await resp.text()
    return (await resp.json())["key"]


SUBMISSION = {"proposed_decision": {"type": "penalty", "amount": "5000000.00", "measures": ["fine"],
                                    "summary": "拟罚款五百万元。"},
              "facts": "无证经营。", "evidence": ["现场检查笔录"], "legal_basis": "《食品安全法》",
              "discretion_reasons": "情节严重。"}


async def test_a_review_over_http_from_submission_to_decision_with_the_reviewer_named(client):
    agency = await an_agency()
    await a_catalogue(client, agency)
    case = await a_major_case(client, agency)
    lead = await an_officer(client, agency, name="张执法", unit="执法一队")
    officer_key = await a_key(client, agency, "officer", officer_id=lead["id"])
    reviewer = await an_officer(client, agency, name="王法制", unit="法制科", is_legal_reviewer=True)
    reviewer_key = await a_key(client, agency, "reviewer", officer_id=reviewer["id"])
    unnamed_reviewer_key = await a_key(client, agency, "reviewer", person_name="赵敏")
    head_key = await a_key(client, agency, "head", person_name="李局长")

    resp = await client.post(f"/api/v1/cases/{case['id']}/reviews", json=SUBMISSION, headers=agency.auth(officer_key))
    assert resp.status == 201, await resp.text()
    review = await resp.json()
    # Provisional only when the 5 working days reach a year with no official schedule (from the host's date).
    assert review["due_on_provisional"] is not Calendar().covers(date.fromisoformat(review["due_on"]).year)
    assert review["clock"] == "green" and review["round"] == 1
    opinion = {"outcome": "approve", "reasons": "同意。", "checklist": CHECKLIST}
    url = f"/api/v1/reviews/{review['id']}/opinion"
    resp = await client.post(url, json=opinion, headers=agency.auth(officer_key))
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "role_forbidden"
    resp = await client.post(url, json=opinion, headers=agency.auth(unnamed_reviewer_key))
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "reviewer_conflict"
    incomplete = {**opinion, "checklist": {k: v for k, v in CHECKLIST.items() if k != "rights_honoured"}}
    resp = await client.post(url, json=incomplete, headers=agency.auth(reviewer_key))
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "checklist_incomplete"
    resp = await client.post(f"/api/v1/reviews/{review['id']}/head-decision", headers=agency.auth(head_key),
                             json={"decision": "approve", "minutes": "纪要", "departs_from_opinion": False})
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "review_head_decide_not_allowed"
    resp = await client.post(url, json=opinion, headers=agency.auth(reviewer_key))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["reviewer_name"] == "王法制"

    stale = {**BODIES["decisions"], "amount": "4000000.00"}
    resp = await client.post(f"/api/v1/cases/{case['id']}/decisions", json=stale, headers=agency.auth(officer_key))
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "review_stale"
    resp = await client.post(f"/api/v1/cases/{case['id']}/decisions", json=BODIES["decisions"],
                             headers=agency.auth(officer_key))
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["amount"] == "5000000.00"

    who = await (await client.get(f"/api/v1/cases/{case['id']}/responsibility", headers=agency.auth())).json()
    assert [(r["submitted_by_name"], r["reviewer_name"], r["outcome"]) for r in who["rounds"]] == \
        [("张执法", "王法制", "approve")]
    assert who["approved_by"][0]["name"] == "王法制" and who["departed_from_opinion"] is False
    assert who["decisions"][0]["registered_by_name"] == "张执法"
    listed = await (await client.get("/api/v1/reviews", headers=agency.auth(reviewer_key))).json()
    assert listed["total"] == 1 and listed["items"][0]["clock"] is None  # answered: no clock
    records = await (await client.get(f"/api/v1/cases/{case['id']}/records", headers=agency.auth())).json()
    assert [r["step"] for r in records["items"]].count("legal_review") == 2


async def test_another_agency_sees_nothing_and_the_supervisor_sees_every_agency(client):
    agency, other, supervisor = await an_agency(), await an_agency("另一局"), await a_supervisor()
    await a_catalogue(client, agency)
    case = await a_major_case(client, agency)
    review = await (await client.post(f"/api/v1/cases/{case['id']}/reviews", json=SUBMISSION,
                                      headers=agency.auth())).json()
    assert (await client.get(f"/api/v1/reviews/{review['id']}", headers=other.auth())).status == 404
    assert (await (await client.get("/api/v1/reviews", headers=other.auth())).json())["total"] == 0
    assert (await client.get(f"/api/v1/reviews/{review['id']}", headers=supervisor.auth())).status == 200
    resp = await client.get("/api/v1/supervision/overdue?kind=review", headers=supervisor.auth())
    assert resp.status == 200 and (await resp.json())["total"] == 0  # due in 5 working days
    assert (await client.get("/api/v1/supervision/overdue?kind=nothing", headers=supervisor.auth())).status == 422
    ratio = await (await client.get("/api/v1/supervision/reviewer-ratio", headers=supervisor.auth())).json()
    assert {r["agency_name"] for r in ratio["items"]} >= {"测试市场监督管理局", "另一局"}
    assert ratio["short"] >= 2  # no reviewers yet: at least one is needed
    assert (await client.get("/api/v1/supervision/reviewer-ratio", headers=agency.auth())).status == 403


async def test_an_agency_files_its_reviewer_roster_and_the_supervisor_sees_it(client):
    agency, supervisor = await an_agency("名册局"), await a_supervisor()
    assert (await client.get("/api/v1/reviewer-roster", headers=agency.auth())).status == 404
    officer_key = await agency.key(Role.OFFICER)
    assert (await client.post("/api/v1/reviewer-roster", headers=agency.auth(officer_key))).status == 403
    assert (await client.post("/api/v1/reviewer-roster", headers=supervisor.auth())).status == 403
    resp = await client.post("/api/v1/reviewer-roster", headers=agency.auth())
    assert resp.status == 201, await resp.text()
    filed = await resp.json()
    assert filed["reviewers"] == [] and filed["filed_by"] == "测试管理员"
    latest = await (await client.get("/api/v1/reviewer-roster", headers=agency.auth())).json()
    assert latest["id"] == filed["id"]
    ratio = await (await client.get("/api/v1/supervision/reviewer-ratio", headers=supervisor.auth())).json()
    [row] = [r for r in ratio["items"] if r["agency_name"] == "名册局"]
    assert row["roster_filed_at"] == filed["filed_at"] and row["roster_current"] is True
    assert row["roster_filed_by"] == "测试管理员" and row["roster_filed_reviewers"] == 0


async def test_the_catalogue_is_public_with_its_versions(client):
    agency = await an_agency()
    url = f"/mp/v1/agencies/{agency.agency.id}/major-catalogue"
    empty = await (await client.get(url)).json()
    assert empty["in_effect_version"] is None and empty["versions"] == []
    await a_catalogue(client, agency)
    page = await (await client.get(url)).json()
    assert page["in_effect_version"] == 1
    assert page["versions"][0]["reasons"] == ["行政处罚罚款金额达到10000.00元（自然人）", "经过听证程序"]
    supervisor = await a_supervisor()
    assert (await client.get(f"/mp/v1/agencies/{supervisor.agency.id}/major-catalogue")).status == 404
    resp = await client.put("/api/v1/major-catalogue", headers=agency.auth(await agency.key(Role.OFFICER)),
                            json={"effective_from": "2030-01-01", "criteria": {}})
    assert resp.status == 403


async def test_only_a_reviewer_lifts_a_hand_flag_over_http(client):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    url = f"/api/v1/cases/{case['id']}/major"
    officer = agency.auth(await agency.key(Role.OFFICER))
    resp = await client.put(url, json={"major": True, "reason": "社会影响大"}, headers=officer)
    assert resp.status == 200 and (await resp.json())["is_major"] is True
    resp = await client.put(url, json={"major": False, "reason": "不重大"}, headers=officer)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "major_lift_reviewer_only"
    # A reviewer-role key held by someone who is not a legal reviewer (here: a plain officer) lifts nothing.
    plain = await an_officer(client, agency, name="普通执法员", unit="执法一队")
    resp = await client.put(url, json={"major": False, "reason": "不重大"},
                            headers=agency.auth(await a_key(client, agency, "reviewer", officer_id=plain["id"])))
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "reviewer_conflict"
    reviewer = await an_officer(client, agency, name="王法制", unit="法制科", is_legal_reviewer=True)
    resp = await client.put(url, json={"major": False, "reason": "经审核不属重大"},
                            headers=agency.auth(await a_key(client, agency, "reviewer", officer_id=reviewer["id"])))
    assert resp.status == 200 and (await resp.json())["is_major"] is False
