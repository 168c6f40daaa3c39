"""Deny by default: every route declares who may call it, and the declaration is enforced."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from backend.app import create_app
from backend.http.routing import ACCESS_ATTR, PARTY, PUBLIC, SIGNED
from backend.models.enums import Role
from backend.services.apikeys import KeyHolder, create_key
from tests.conftest import make_settings
from tests.factories import a_supervisor, an_agency
from tests.support.endpoints import concrete_path, endpoints, error_of

FORGED = ["yg_" + "A" * 43, "yg_notakey", "Bearer", "x" * 500, "yg_" + "é" * 10]


def test_every_route_declares_who_may_call_it(tmp_path):
    app = create_app(make_settings(f"sqlite://{tmp_path}/x.sqlite3", tmp_path))
    undeclared = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue  # aiohttp adds HEAD beside every GET, same handler
        if getattr(route.handler, ACCESS_ATTR, None) is None:
            undeclared.append(f"{route.method} {route.resource.canonical if route.resource else '?'}")
    assert undeclared == [], f"routes without an access policy: {undeclared}"
    assert len(list(app.router.routes())) >= 8


async def test_protected_routes_refuse_missing_and_forged_keys(client):
    # PARTY routes take mini-program sessions, not keys: tests/miniprogram_api/test_parties_api.py.
    protected = [ep for ep in endpoints(client.app) if ep.access not in (PUBLIC, PARTY, SIGNED)]
    assert protected
    for ep in protected:
        path = concrete_path(ep)
        resp = await client.request(ep.method, path)
        assert resp.status == 401, f"{ep.method} {ep.path} without a key gave {resp.status}"
        assert error_of(await resp.json())[0] == "missing_api_key"
        for forged in FORGED:
            resp = await client.request(ep.method, path, headers={"Authorization": f"Bearer {forged}"})
            assert resp.status == 401, f"{ep.method} {ep.path} with a forged key gave {resp.status}"
            code, message = error_of(await resp.json())
            assert code == "invalid_api_key" and message


async def test_signed_routes_refuse_every_request_not_signed_with_the_providers_token(aiohttp_client, settings):
    # WeChat's message push: no key or session opens it. Without a token configured it is not there
    # at all; with one, keys, sessions and forged signatures are all refused before the handler runs.
    signed = [ep for ep in endpoints(create_app(settings)) if ep.access == SIGNED]
    assert signed, "the WeChat push routes are declared SIGNED"
    for token in (None, "pushToken2026"):
        client = await aiohttp_client(create_app(replace(settings, wechat_push_token=token)))
        agency = await an_agency()
        for ep in signed:
            for headers in ({}, agency.auth(), {"Authorization": "Bearer mps_forged"}):
                for query in ("", "?signature=" + "0" * 40 + "&timestamp=1&nonce=1&echostr=x"):
                    resp = await client.request(ep.method, concrete_path(ep) + query, headers=headers,
                                                data=b"<xml><MsgType>event</MsgType></xml>")
                    expected = (404, "wechat_push_not_configured") if token is None else (401, "push_signature_invalid")
                    assert (resp.status, error_of(await resp.json())[0]) == expected, (ep.method, ep.path, token)


async def test_a_revoked_key_stops_working_at_once(client):
    agency = await an_agency()
    officer_key = await agency.key(Role.OFFICER)
    assert (await client.get("/api/v1/officers", headers=agency.auth(officer_key))).status == 200
    keys = await (await client.get("/api/v1/keys", headers=agency.auth())).json()
    officer_row = next(k for k in keys["items"] if k["role"] == "officer")
    resp = await client.post(f"/api/v1/keys/{officer_row['id']}/revoke", headers=agency.auth())
    assert resp.status == 200
    assert datetime.fromisoformat((await resp.json())["revoked_at"])
    resp = await client.get("/api/v1/officers", headers=agency.auth(officer_key))
    assert resp.status == 401


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_each_role_reaches_exactly_the_routes_declared_for_it(client):
    agency, supervisor = await an_agency(), await a_supervisor()
    keys = {role: await agency.key(role) for role in (Role.OFFICER, Role.REVIEWER, Role.HEAD)}
    keys[Role.ADMIN] = agency.admin_key
    keys[Role.SUPERVISOR] = supervisor.admin_key
    _, keys[Role.INTEGRATOR] = await create_key(supervisor.agency, Role.INTEGRATOR, "12345", "test",
                                                KeyHolder(system_name="市12345热线"))
    checked = 0
    for ep in endpoints(client.app):
        if ep.access in (PUBLIC, PARTY, SIGNED):
            continue
        for role, key in keys.items():
            resp = await client.request(ep.method, concrete_path(ep), headers={"Authorization": f"Bearer {key}"})
            if role in ep.access:
                assert resp.status != 403, f"{role} was refused {ep.method} {ep.path}"
            else:
                assert resp.status == 403, f"{role} reached {ep.method} {ep.path}: {resp.status}"
                assert error_of(await resp.json())[0] == "role_forbidden"
            assert resp.status < 500
            checked += 1
    assert checked >= 5 * 6
