"""The baseline: a bare aiohttp JSON handler, nothing else. `python bench/bare_server.py PORT`.

It runs on the event loop `yangguang serve` runs on (uvloop where installed, as in backend.eventloop;
YANGGUANG_EVENT_LOOP=asyncio chooses asyncio's loop for both), so the ratio compares request paths,
not event loops."""

from __future__ import annotations

import os
import sys

from aiohttp import web

PAYLOAD = {
    "status": "valid", "status_text": "有效",
    "officer": {"id": "6f0c1a52-6a4e-4f43-9d8e-0d3c1b7f9a10", "name": "张明", "kind": "enforcement",
                "certificate_no": "33010020230001", "categories": ["市场监管", "食品安全"], "region": "杭州市西湖区",
                "has_photo": False},
    "agency": {"name": "杭州市西湖区市场监督管理局", "credit_code": "11330100MB0000001Y", "region": "杭州市西湖区",
               "complaint_phone": "12345"},
    "credential": {"valid_from": "2026-01-01", "valid_until": "2028-12-31"},
    "checked_at": "2026-11-22T11:00:00+08:00",
}


async def handler(request: web.Request) -> web.Response:
    return web.json_response(PAYLOAD)


RECEIPT = {"tracking_no": "T261204-7K3M-9Q2X", "query_code": "8H2KQ4ZP", "leaf_index": 41, "status": "submitted",
           "acknowledge_due_on": "2026-12-08", "answer_due_on": "2026-12-25", "anonymous": True}


async def post_handler(request: web.Request) -> web.Response:
    # The complaint bench's baseline: read and parse the same JSON body, answer a receipt.
    await request.json()
    return web.json_response(RECEIPT, status=201)


def main() -> None:
    app = web.Application()
    app.router.add_get("/mp/v1/verify/{token}", handler)
    app.router.add_post("/mp/v1/complaints", post_handler)
    loop = None
    if os.environ.get("YANGGUANG_EVENT_LOOP", "uvloop") != "asyncio":
        try:
            import uvloop
            loop = uvloop.new_event_loop()
        except ImportError:
            pass
    web.run_app(app, loop=loop, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
