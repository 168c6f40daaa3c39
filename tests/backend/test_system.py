"""Health, readiness, the OpenAPI description, the docs page and the logs."""

from __future__ import annotations

import json
import logging

import pytest
from openapi_spec_validator import validate

from backend.app import create_app
from backend.logging_setup import JsonFormatter, redact
from tests.conftest import make_settings
from tests.factories import an_agency, officer_body
from tests.support.endpoints import endpoints


async def test_healthz_and_readyz_answer_when_the_database_is_there(client):
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["checks"] == {"database": "ok"}


async def test_readyz_reports_redis_when_it_is_configured(aiohttp_client, pg_url, redis_server, tmp_path):
    settings = make_settings(pg_url, tmp_path, redis_url=redis_server.url)
    client = await aiohttp_client(create_app(settings))
    resp = await client.get("/readyz")
    assert (await resp.json())["checks"] == {"database": "ok", "redis": "ok"}


async def test_readyz_is_503_when_redis_is_unreachable(aiohttp_client, pg_url, tmp_path):
    from tests.support.servers import free_port

    settings = make_settings(pg_url, tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = await aiohttp_client(create_app(settings))
    resp = await client.get("/readyz")
    assert resp.status == 503
    body = await resp.json()
    assert body["error"]["code"] == "not_ready"
    assert body["checks"]["redis"] == "unreachable"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_openapi_is_valid_and_describes_every_json_route(client):
    spec = await (await client.get("/api/openapi.json")).json()
    validate(spec)
    for ep in endpoints(client.app):
        path = ep.path.replace(":", "")
        assert ep.method.lower() in spec["paths"][path], f"{ep.method} {ep.path} missing from OpenAPI"
    create = spec["paths"]["/api/v1/officers"]["post"]
    schema_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_schema = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert body_schema["additionalProperties"] is False
    assert {"401", "403", "422"} <= set(create["responses"])
    docs = await client.get("/api/docs")
    assert docs.status == 200 and "/api/v1/officers" in await docs.text()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_every_log_line_carries_a_request_id_and_no_phone_or_id_number(client, caplog):
    agency = await an_agency()
    caplog.set_level(logging.DEBUG)
    body = officer_body(phone="13912345678", id_number="33010219900101123X")
    resp = await client.post("/api/v1/officers", json=body, headers={**agency.auth(), "X-Request-Id": "req-12345678"})
    assert resp.headers["X-Request-Id"] == "req-12345678"
    logging.getLogger("yangguang.test").info("party phone 13912345678 id 33010219900101123X")
    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records]
    assert lines
    assert all(line["request_id"] for line in lines)
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    assert "13912345678" not in text and "33010219900101123X" not in text
    assert any("req-12345678" == line["request_id"] for line in lines)


def test_redaction_masks_phones_and_id_numbers_but_not_other_numbers():
    assert redact("call 13800138000 now") == "call [phone] now"
    assert redact("+8613800138000") == "[phone]"
    assert redact("id 11010519491231002X ok") == "id [id-number] ok"
    assert redact("case 2026-0001 amount 5000") == "case 2026-0001 amount 5000"


async def test_the_docs_page_shows_bodies_and_loads_nothing_from_outside(client):
    import re

    resp = await client.get("/api/docs")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    # No scripts, stylesheets, fonts or images from anywhere; the CSP forbids them too.
    assert not re.search(r"<script|<link|<img|@import|url\(", page, re.I)
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page, re.I)
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    # Every route of the table is there, with its request and response bodies as field tables.
    spec = await (await client.get("/api/openapi.json")).json()
    for path, ops in spec["paths"].items():
        for method in ops:
            assert f"id='{method}-{ops[method]['operationId']}'" in page, (method, path)
    section = page[page.index("id='post-create_case'"):]
    section = section[:section.index("</section>")]
    assert "请求体" in section and "<code>parties</code>" in section and "<code>title</code>" in section
    assert "<code>binding_code</code>" in section and "<code>unreachable_reason</code>" in section
    assert "示例" in section and "某餐饮店未按规定公示许可证案" in section  # the schema's own example
    assert "<code>penalty</code>" in section  # enum values spelled out
    listing = page[page.index("id='get-list_cases'"):]
    assert "<code>created_from</code>" in listing[:listing.index("</section>")]
