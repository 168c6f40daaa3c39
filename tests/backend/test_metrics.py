"""`GET /metrics`: stable names and labels, never public unless configured, and one total across the
forked processes of `yangguang serve --workers 2`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from backend.app import create_app
from backend.app_keys import VERIFIER
from tests.conftest import make_settings
from tests.credentials.support import a_credential
from tests.factories import an_agency
from tests.support.processes import ROOT, cli_env, stop, wait_ready
from tests.support.servers import free_port

TOKEN = "metrics-" + "x" * 40
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# The interface dashboards and alerts are built on: a rename or a new label breaks them, so it is
# listed here and changes only on purpose (README, Metrics).
STABLE = {
    "yangguang_http_requests": ("counter", {"method", "route", "status"}),
    "yangguang_http_request_duration_seconds": ("histogram", {"method", "route"}),
    "yangguang_scans": ("counter", {"channel", "status"}),
    "yangguang_notification_attempts": ("counter", {"channel", "outcome"}),
    "yangguang_scrape_database_ok": ("gauge", set()),
    "yangguang_notifications": ("gauge", {"channel", "status"}),
    "yangguang_notification_queue_age_seconds": ("gauge", {"channel"}),
    "yangguang_outbox_backlog": ("gauge", set()),
    "yangguang_log_entries": ("gauge", set()),
    "yangguang_log_unsigned_entries": ("gauge", set()),
    "yangguang_log_checkpoint_age_seconds": ("gauge", set()),
    "yangguang_overdue_items": ("gauge", {"kind"}),
}


def families(text: str) -> dict[str, tuple[str, set[str], list[tuple[str, dict[str, str], float]]]]:
    out = {}
    for fam in text_string_to_metric_families(text):
        labels: set[str] = set()
        for sample in fam.samples:
            labels |= set(sample.labels) - {"le"}
        out[fam.name] = (fam.type, labels, [(s.name, s.labels, s.value) for s in fam.samples])
    return out


def value(fams: dict, name: str, sample: str, **labels: str) -> float:  # type: ignore[type-arg]
    return sum(v for n, lab, v in fams[name][2] if n == sample and all(lab.get(k) == x for k, x in labels.items()))


@pytest.fixture
async def with_token(aiohttp_client, db_url: str, tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[no-untyped-def]
    yield await aiohttp_client(create_app(make_settings(db_url, tmp_path / "data", metrics_token=TOKEN)))


async def test_metrics_are_not_public_by_default(client):
    for headers in ({}, AUTH):
        resp = await client.get("/metrics", headers=headers)
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_with_a_token_metrics_answer_only_to_that_token(with_token):
    resp = await with_token.get("/metrics")
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "metrics_token_required"
    for wrong in ("Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "y", "Basic " + TOKEN, "Bearer"):
        resp = await with_token.get("/metrics", headers={"Authorization": wrong})
        assert resp.status == 401, wrong
        assert (await resp.json())["error"]["code"] in ("metrics_token_invalid", "metrics_token_required")
    resp = await with_token.get("/metrics", headers=AUTH)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert "yangguang_http_requests_total" in await resp.text()


async def test_metric_names_and_labels_are_stable_and_count_requests_and_scans(with_token):
    agency = await an_agency()
    card = await a_credential(with_token, agency)
    token = card["verify_url"].rsplit("/", 1)[1]
    # Counters belong to the process (and so to every test in it): compare before and after.
    before = families(await (await with_token.get("/metrics", headers=AUTH)).text())
    assert (await with_token.get(f"/mp/v1/verify/{token}")).status == 200
    assert (await with_token.get("/mp/v1/verify/" + "A" * 30)).status == 404  # no such card
    assert (await with_token.get("/healthz")).status == 200
    assert (await with_token.get("/no/such/path/" + "x" * 20)).status == 404
    await with_token.app[VERIFIER].recorder.flush()
    fams = families(await (await with_token.get("/metrics", headers=AUTH)).text())

    def delta(name: str, sample: str, **labels: str) -> float:
        return value(fams, name, sample, **labels) - value(before, name, sample, **labels)

    assert {name: (typ, labels) for name, (typ, labels, _) in fams.items()} == STABLE
    requests = ("yangguang_http_requests", "yangguang_http_requests_total")
    assert delta(*requests, method="GET", route="/healthz", status="200") == 1
    assert delta(*requests, method="GET", route="/mp/v1/verify/{token}", status="404") == 1
    assert delta(*requests, method="GET", route="/mp/v1/verify/{token}", status="200") == 1
    # The router's 404s share one bucket: a random path never becomes a label.
    assert delta(*requests, method="other", route="unmatched", status="404") == 1
    assert not any("x" * 20 in str(lab) for _, lab, _ in fams["yangguang_http_requests"][2])
    assert delta("yangguang_http_request_duration_seconds", "yangguang_http_request_duration_seconds_count",
                 route="/healthz") == 1
    assert delta("yangguang_scans", "yangguang_scans_total", channel="miniprogram", status="valid") == 1
    assert delta("yangguang_scans", "yangguang_scans_total", channel="miniprogram", status="invalid") == 1
    assert delta("yangguang_scans", "yangguang_scans_total", channel="h5", status="valid") == 0
    assert value(fams, "yangguang_log_entries", "yangguang_log_entries") >= 1  # the card's issue is a leaf
    assert value(fams, "yangguang_scrape_database_ok", "yangguang_scrape_database_ok") == 1
    assert {lab["kind"] for _, lab, _ in fams["yangguang_overdue_items"][2]} == {
        "publication", "withdrawal", "review", "complaint", "rectification", "register", "statistics"}


# --- real processes ----------------------------------------------------------------------------------


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _healthz_by_pid(folder: Path) -> dict[int, float]:
    from prometheus_client.mmap_dict import MmapedDict

    counts: dict[int, float] = {}
    for path in folder.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for key, val, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            if '"/healthz"' in key and "yangguang_http_requests_total" in key:
                counts[pid] = counts.get(pid, 0.0) + val
    return counts


def test_serve_with_two_workers_sums_both_processes_on_the_separate_metrics_address(pg_url, tmp_path):
    folder = tmp_path / "prom"
    port, mport = free_port(), free_port()
    env = cli_env(pg_url, tmp_path / "data", YANGGUANG_METRICS_LISTEN=f"127.0.0.1:{mport}",
                  PROMETHEUS_MULTIPROC_DIR=str(folder))
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
        wait_ready(f"http://127.0.0.1:{mport}/metrics", proc)
        # Without a token the service's own port does not serve metrics; the private address does.
        status, body = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 404 and '"not_found"' in body
        assert _get(f"http://127.0.0.1:{mport}/healthz")[0] == 404  # the metrics address serves nothing else

        sent = sum(_healthz_by_pid(folder).values())  # the readiness probes
        deadline = time.monotonic() + 60
        with ThreadPoolExecutor(10) as pool:  # fresh connections, in parallel: both processes accept
            while len([n for n in _healthz_by_pid(folder).values() if n > 0]) < 2:
                assert time.monotonic() < deadline, "the kernel never gave the second process a connection"
                statuses = list(pool.map(lambda _: _get(f"http://127.0.0.1:{port}/healthz")[0], range(20)))
                assert statuses == [200] * 20
                sent += 20
        per_pid = _healthz_by_pid(folder)
        assert len(per_pid) == 2 and all(n > 0 for n in per_pid.values())
        assert sum(per_pid.values()) == sent

        status, text = _get(f"http://127.0.0.1:{mport}/metrics")
        assert status == 200
        fams = families(text)
        assert value(fams, "yangguang_http_requests", "yangguang_http_requests_total",
                     method="GET", route="/healthz", status="200") == sent  # both processes, summed
        assert value(fams, "yangguang_scrape_database_ok", "yangguang_scrape_database_ok") == 1
    finally:
        stop(proc)
    assert os.path.isdir(folder)  # the operator's folder is kept; its dead processes' files go at next start
