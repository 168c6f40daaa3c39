"""The transparency log over HTTP: the public checkpoint and keys, proofs, entries, and bad parameters."""

from __future__ import annotations

import pytest

from backend.app_keys import SETTINGS
from backend.models.enums import Role
from backend.services.transparency import checkpoints, log
from tests.factories import a_supervisor, an_agency
from tests.support.rfc6962 import open_checkpoint, verify_consistency, verify_inclusion


async def _error(resp, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    text = await resp.text()
    assert resp.status == status, f"{resp.status} {text[:300]}"
    body = await resp.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]


async def test_the_checkpoint_is_public_signed_and_verifies_with_the_published_key(client, clock):
    await _error(await client.get("/log/checkpoint"), 404, "no_checkpoint")
    await _error(await client.get("/log/keys"), 404, "no_checkpoint")
    for i in range(11):
        await log.append("evidence", {"n": i}, agency_id=None, ref=str(i))
    row = await checkpoints.make_checkpoint(client.app[SETTINGS], clock)
    resp = await client.get("/log/checkpoint")
    assert resp.status == 200 and resp.content_type == "text/plain"
    assert resp.headers["Cache-Control"] == "public, max-age=5"
    note = await resp.text()
    assert note == row.note
    vkey = (await (await client.get("/log/keys")).text()).strip()
    origin, size, root = open_checkpoint(note, vkey)
    assert (origin, size, root.hex()) == ("yangguang.local/log", 11, row.root_hash)
    as_json = await (await client.get("/log/checkpoint.json")).json()
    assert as_json["note"] == note and as_json["tree_size"] == 11 and as_json["signer"] == "yangguang log signer"

    agency = await an_agency()
    resp = await client.get("/api/v1/log/proof/inclusion", params={"leaf_index": 7, "tree_size": size},
                            headers=agency.auth(await agency.key(Role.OFFICER)))
    assert resp.status == 200, await resp.text()
    p = await resp.json()
    assert p["root_hash"] == root.hex()
    verify_inclusion(bytes.fromhex(p["leaf_hash"]), 7, size, [bytes.fromhex(h) for h in p["audit_path"]], root)
    for i in range(11, 20):
        await log.append("evidence", {"n": i}, agency_id=None, ref=str(i))
    resp = await client.get("/api/v1/log/proof/consistency", params={"first": size, "second": 20},
                            headers=agency.auth())
    c = await resp.json()
    assert c["first_root"] == root.hex()
    verify_consistency(size, 20, root, bytes.fromhex(c["second_root"]), [bytes.fromhex(h) for h in c["proof"]])
    same = await (await client.get("/api/v1/log/proof/consistency", params={"first": 20, "second": 20},
                                   headers=agency.auth())).json()
    assert same["proof"] == [] and same["first_root"] == same["second_root"] == c["second_root"]


BAD_INCLUSION = [
    ({"leaf_index": 5, "tree_size": 5}, 422, "leaf_index_out_of_range"),
    ({"leaf_index": 6, "tree_size": 5}, 422, "leaf_index_out_of_range"),
    ({"leaf_index": 0, "tree_size": 9}, 422, "tree_size_beyond_log"),
    ({"leaf_index": 0, "tree_size": 0}, 422, "validation_error"),
    ({"leaf_index": -1, "tree_size": 5}, 422, "validation_error"),
    ({"leaf_index": "x", "tree_size": 5}, 422, "validation_error"),
    ({"leaf_index": "1.0", "tree_size": 5}, 422, "validation_error"),
    ({"leaf_index": "1e2", "tree_size": 5}, 422, "validation_error"),
    ({"leaf_index": "", "tree_size": 5}, 422, "validation_error"),
    ({"leaf_index": str(2**63), "tree_size": 5}, 422, "validation_error"),
    ({"leaf_index": "9" * 40, "tree_size": 5}, 422, "validation_error"),
    ({"tree_size": 5}, 422, "validation_error"),
    ({"leaf_index": 1, "tree_size": 5, "extra": 1}, 422, "validation_error"),
]
BAD_CONSISTENCY = [
    ({"first": 0, "second": 5}, 422, "validation_error"),
    ({"first": 4, "second": 3}, 422, "consistency_sizes_out_of_order"),
    ({"first": 3, "second": 9}, 422, "tree_size_beyond_log"),
    ({"first": -3, "second": 5}, 422, "validation_error"),
    ({"first": "a", "second": 5}, 422, "validation_error"),
    ({"first": 2}, 422, "validation_error"),
]


@pytest.mark.parametrize(("params", "status", "code"), BAD_INCLUSION)
async def test_bad_inclusion_parameters_are_4xx_with_stable_codes(client, params, status, code):
    agency = await an_agency()
    for i in range(5):
        await log.append("evidence", {"n": i}, agency_id=None, ref=str(i))
    await _error(await client.get("/api/v1/log/proof/inclusion", params=params, headers=agency.auth()), status, code)


@pytest.mark.parametrize(("params", "status", "code"), BAD_CONSISTENCY)
async def test_bad_consistency_parameters_are_4xx_with_stable_codes(client, params, status, code):
    agency = await an_agency()
    for i in range(5):
        await log.append("evidence", {"n": i}, agency_id=None, ref=str(i))
    await _error(await client.get("/api/v1/log/proof/consistency", params=params, headers=agency.auth()),
                 status, code)


async def test_proofs_on_an_empty_log_are_refused(client):
    agency = await an_agency()
    await _error(await client.get("/api/v1/log/proof/inclusion", params={"leaf_index": 0, "tree_size": 1},
                                  headers=agency.auth()), 422, "tree_size_beyond_log")
    await _error(await client.get("/api/v1/log/proof/consistency", params={"first": 1, "second": 1},
                                  headers=agency.auth()), 422, "tree_size_beyond_log")


async def test_entries_are_agency_scoped_and_leaves_without_an_agency_are_the_supervisors(client):
    mine, theirs, supervisor = await an_agency("甲局"), await an_agency("乙局"), await a_supervisor()
    await log.append("case_record", {"step": "立案"}, agency_id=mine.agency.id, ref="r1")
    await log.append("credential_change", {"status": "暂扣"}, agency_id=theirs.agency.id, ref="c1")
    await log.append("review_opinion", {"opinion": "同意"}, agency_id=None, ref="o1")
    resp = await client.get("/api/v1/log/entries/0", headers=mine.auth(await mine.key(Role.REVIEWER)))
    assert resp.status == 200
    body = await resp.json()
    assert body["kind"] == "case_record" and body["content"]["data"] == {"step": "立案"}
    assert body["content"]["index"] == 0 and body["content"]["agency_id"] == str(mine.agency.id)
    import rfc8785

    from tests.support.rfc6962 import leaf_hash

    assert leaf_hash(rfc8785.dumps(body["content"])).hex() == body["leaf_hash"]
    for index in (1, 2, 3):
        await _error(await client.get(f"/api/v1/log/entries/{index}", headers=mine.auth()), 404,
                     "log_entry_not_found")
    for index in (0, 1, 2):
        assert (await client.get(f"/api/v1/log/entries/{index}", headers=supervisor.auth())).status == 200
    for bad in ("-1", "x", "1.0", "9" * 30, "%00"):
        await _error(await client.get(f"/api/v1/log/entries/{bad}", headers=supervisor.auth()), 404,
                     "log_entry_not_found")


async def test_proofs_and_entries_need_a_key(client):
    for path in ("/api/v1/log/proof/inclusion?leaf_index=0&tree_size=1", "/api/v1/log/entries/0"):
        await _error(await client.get(path), 401, "missing_api_key")
