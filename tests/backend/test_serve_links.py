"""`yangguang serve --port P` without YANGGUANG_PUBLIC_BASE_URL: every link points at port P (B.3);
a busy port is one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import socket
import urllib.request
import uuid
from datetime import timedelta

from backend.clock import Clock
from tests.backend.test_cli import _post
from tests.factories import credit_code
from tests.qr.zbar import decode, needs_zbar
from tests.support.processes import cli_env, run_cli, start_server, stop
from tests.support.servers import free_port


def _get_bytes(url: str, key: str) -> bytes:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read()


@needs_zbar
def test_links_qr_codes_and_sms_links_point_at_the_port_served(tmp_path):
    env = cli_env(f"sqlite://{tmp_path}/db.sqlite3", tmp_path)
    key = run_cli(["agency", "create", "--name", "甲局", "--code", credit_code()], env).stdout.splitlines()[-1]
    port = free_port()
    assert port != 8080
    server = start_server(env, port)
    try:
        base = f"http://127.0.0.1:{port}"
        status, officer = _post(f"{base}/api/v1/officers", key, {
            "name": "张明", "certificate_no": "33010020239999", "categories": ["市场监管"], "region": "西湖区"})
        assert status == 201, officer
        status, cred = _post(f"{base}/api/v1/officers/{officer['id']}/credentials", key,
                             {"valid_until": (Clock().today() + timedelta(days=365)).isoformat()})
        assert status == 201, cred
        assert cred["verify_url"] == f"{base}/v/{cred['token']}"
        png = _get_bytes(f"{base}/api/v1/credentials/{cred['id']}/qr.png", key)
        assert decode(png, tmp_path) == [cred["verify_url"]]
        with urllib.request.urlopen(cred["verify_url"], timeout=10) as page:  # the link works
            assert page.status == 200

        status, case = _post(f"{base}/api/v1/cases", key, {"title": "无证经营案", "type": "penalty", "parties": [
            {"name": "某公司", "kind": "organization", "phone": "13900002222"}]})
        assert status == 201, case
        status, decision = _post(f"{base}/api/v1/cases/{case['id']}/decisions", key, {
            "document_no": f"杭西罚〔2026〕{uuid.uuid4().hex[:6]}号", "summary": "罚款", "decided_at": "2026-11-20"})
        assert status == 201, decision
        shown = json.loads(_get_bytes(f"{base}/api/v1/decisions/{decision['id']}/preview", key))
        assert _post(f"{base}/api/v1/decisions/{decision['id']}/publish", key,
                     {"preview_hash": shown["preview_hash"]})[0] == 200
        sent = json.loads(_get_bytes(f"{base}/api/v1/notifications?case_id={case['id']}", key))
        texts = [n["content"] for n in sent["items"]]
        assert texts and all(f"{base}/d/{decision['id']}" in t for t in texts), texts
    finally:
        stop(server)


def test_a_busy_port_is_one_line_and_a_non_zero_exit(tmp_path):
    env = cli_env(f"sqlite://{tmp_path}/db.sqlite3", tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run_cli(["serve", "--port", str(port)], env, timeout=30)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "端口" in lines[0] and "already in use" in lines[0] and str(port) in lines[0]
    assert "Traceback" not in result.stderr
