"""Garbage at every route: malformed, mistyped, unknown, oversized, hostile. Never a 500.

The routes come from the app's own declarations, so a new route is covered the day it is added.
"""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest

from backend.app_keys import CLOCK, SETTINGS
from backend.http.routing import PARTY, PUBLIC, SIGNED, Endpoint
from backend.models.enums import Role
from backend.services.apikeys import KeyHolder, create_key
from backend.services.parties import sessions
from tests.factories import a_supervisor, an_agency
from tests.support.endpoints import concrete_path, endpoints, error_of

WRONG_VALUES: list[object] = [
    None, 0, -1, 2**63, 1.5e308, True, "", "x" * 5000, "\u0000", "😀" * 100, [], [1, "a", None],
    {}, {"$gt": ""}, "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd",
]
MALFORMED: list[bytes] = [
    b"{", b"}", b"{'a': 1}", b"[1,2", b"nul", b"\xff\xfe\xfa", b'{"a": "\\ud800"}', b"{" * 5000 + b"}" * 5000,
    b'{"a":1,}', b"\x00\x01",
]
NOT_OBJECTS: list[bytes] = [b"[]", b"1", b'"text"', b"null", b"true"]


async def _assert_clean_error(resp, where: str, expected: set[int] | None = None) -> None:  # type: ignore[no-untyped-def]
    assert resp.status < 500, f"{where}: {resp.status} {await resp.text()}"
    text = await resp.text()
    assert "Traceback" not in text and "File \"" not in text, where
    if resp.status >= 400:
        body = json.loads(text) if resp.content_type == "application/json" else None
        assert body is not None, f"{where}: error is not JSON: {text[:200]}"
        code, message = error_of(body)
        assert code.replace("_", "").isalnum(), where
        assert message, where
    if expected is not None:
        assert resp.status in expected, f"{where}: {resp.status} not in {expected}: {text[:300]}"


def _key_for(ep: Endpoint, keys: dict[Any, str]) -> dict[str, str]:
    if ep.access in (PUBLIC, SIGNED):  # SIGNED: a provider's signature, not a key (tests/security)
        return {}
    if ep.access == PARTY:  # signing out ends a session: it gets one of its own
        sign_out = (ep.method, ep.path) == ("DELETE", "/mp/v1/session")
        return {"Authorization": f"Bearer {keys[(PARTY, 'sign_out') if sign_out else PARTY]}"}
    role = sorted(ep.access, key=lambda r: list(Role).index(r))[0]  # type: ignore[union-attr]
    return {"Authorization": f"Bearer {keys[role]}"}


def _mutations(ep: Endpoint, rng: random.Random) -> list[dict[str, object]]:
    assert ep.body is not None
    schema = ep.body.model_json_schema()
    props = list(schema.get("properties", {}))
    bodies: list[dict[str, object]] = [{"unexpected_field": 1}]
    for name in props:
        for value in rng.sample(WRONG_VALUES, 5):
            bodies.append({name: value})
        bodies.append({name: rng.choice(WRONG_VALUES), "unexpected_field": "x"})
    return bodies


@pytest.fixture
async def keys(client) -> dict[Any, str]:  # type: ignore[no-untyped-def]
    agency, supervisor = await an_agency(), await a_supervisor()
    out: dict[Any, str] = {role: await agency.key(role) for role in (Role.OFFICER, Role.REVIEWER, Role.HEAD)}
    out[Role.ADMIN] = agency.admin_key
    out[Role.SUPERVISOR] = supervisor.admin_key
    _, out[Role.INTEGRATOR] = await create_key(supervisor.agency, Role.INTEGRATOR, "12345", "test",
                                               KeyHolder(system_name="市12345热线"))
    issued = await sessions.sign_in("o_garbage", sandbox=False, settings=client.app[SETTINGS],
                                    clock=client.app[CLOCK])
    out[PARTY] = issued.token  # a signed-in party for the /mp/v1/me routes
    out[(PARTY, "sign_out")] = (await sessions.sign_in("o_garbage", sandbox=False, settings=client.app[SETTINGS],
                                                       clock=client.app[CLOCK])).token
    return out


async def test_malformed_and_non_object_bodies_get_400_or_422(client, keys):
    for ep in [e for e in endpoints(client.app) if e.body is not None]:
        path, headers = concrete_path(ep), {**_key_for(ep, keys), "Content-Type": "application/json"}
        for raw in MALFORMED:
            resp = await client.request(ep.method, path, data=raw, headers=headers)
            await _assert_clean_error(resp, f"{ep.method} {ep.path} {raw[:20]!r}", {400, 413, 422, 429})
        for raw in NOT_OBJECTS:
            resp = await client.request(ep.method, path, data=raw, headers=headers)
            await _assert_clean_error(resp, f"{ep.method} {ep.path} {raw!r}", {422, 429})
        resp = await client.request(ep.method, path, data=b"a=1", headers={**_key_for(ep, keys),
                                    "Content-Type": "application/x-www-form-urlencoded"})
        if ep.produces != "text/html":  # HTML form posts are the H5 page's own business
            await _assert_clean_error(resp, f"{ep.method} {ep.path} form", {415, 429})


async def test_wrong_types_and_unknown_fields_get_422(client, keys):
    rng = random.Random(20261122)
    for ep in [e for e in endpoints(client.app) if e.body is not None]:
        path, headers = concrete_path(ep), _key_for(ep, keys)
        for body in _mutations(ep, rng):
            resp = await client.request(ep.method, path, json=body, headers=headers)
            await _assert_clean_error(resp, f"{ep.method} {ep.path} {str(body)[:60]}", {404, 409, 422, 429})
            if resp.status == 422:
                assert "x" * 5000 not in await resp.text(), "submitted values are echoed back"


async def test_oversized_bodies_get_413(client, keys):
    big = json.dumps({"name": "张" * 70_000})  # well past the 64 KiB default limit
    for ep in [e for e in endpoints(client.app) if e.method in ("POST", "PATCH", "PUT")]:
        resp = await client.request(ep.method, concrete_path(ep), data=big,
                                    headers={**_key_for(ep, keys), "Content-Type": "application/json"})
        await _assert_clean_error(resp, f"{ep.method} {ep.path} oversized", {413, 429} if ep.body else None)


async def test_hostile_query_strings_and_path_ids_never_break_a_route(client, keys):
    hostile = ["page=-1", "page=abc", "page_size=100000", "q=" + "x" * 3000, "page=1&page=2",
               "agency_id=not-a-uuid", "q=%00%ff", "%ZZ=1"]
    for ep in endpoints(client.app):
        headers = _key_for(ep, keys)
        for query in hostile:
            resp = await client.request(ep.method, concrete_path(ep) + "?" + query, headers=headers)
            await _assert_clean_error(resp, f"{ep.method} {ep.path}?{query[:30]}")
        for bad_id in ["1", "0", "-1", "..%2F..%2Fetc", "A" * 300, str(uuid.UUID(int=1))]:
            path = ep.path
            if "{" not in path:
                continue
            path = path.split("{")[0] + bad_id + (path.split("}", 1)[1] if "}" in path else "")
            resp = await client.request(ep.method, path, headers=headers)
            await _assert_clean_error(resp, f"{ep.method} {path[:60]}", {400, 404, 405, 422, 429})


async def test_unknown_routes_and_methods_get_json_404_and_405(client):
    resp = await client.get("/api/v1/no-such-thing")
    await _assert_clean_error(resp, "unknown route", {404})
    assert (await resp.json())["error"]["code"] == "not_found"
    resp = await client.delete("/api/v1/officers")
    await _assert_clean_error(resp, "unknown method", {405})
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
    # An unparseable request line is refused by aiohttp's HTTP parser before any middleware runs.
    resp = await client.request("BREW", "/healthz")
    assert resp.status == 400
    assert "Traceback" not in await resp.text()
