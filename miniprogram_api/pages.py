"""Server-rendered H5 pages: plain HTML and inline CSS, no scripts, no external resources."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from backend.models.enums import CredentialStatus

TEMPLATES = Path(__file__).parent / "templates"
INVALID = "invalid"

# status -> (big word, one plain sentence for the citizen)
STATUS_TEXT: dict[str, tuple[str, str]] = {
    CredentialStatus.VALID: ("有效", "该人员持有有效的行政执法证件，可以依法执法。"),
    CredentialStatus.SUSPENDED: ("暂扣", "该证件已被暂扣，持证人目前不得执法。您有权拒绝其执法。"),
    CredentialStatus.REVOKED: ("注销", "该证件已被注销，持证人不得执法。您有权拒绝其执法。"),
    CredentialStatus.EXPIRED: ("已过期", "该证件已超过有效期，持证人不得执法。您有权拒绝其执法。"),
    CredentialStatus.VOID: ("已作废",
                            "该证件已作废（已换发新证或持证人已离岗）。请要求出示有效证件，否则您有权拒绝其执法。"),
    CredentialStatus.NOT_YET_VALID: ("未生效", "该证件尚未到有效期开始日期，持证人目前不得执法。您有权拒绝其执法。"),
    INVALID: ("无效二维码", "系统中没有这张证件。它可能是伪造的；您有权拒绝其执法并投诉。"),
}

# Security headers for every H5 page: nothing external can load, and the token in the URL is not
# leaked through the Referer header to any link the citizen follows.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@lru_cache(maxsize=4)
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def verify_page(status: str, checked_at: datetime, view: dict[str, Any] | None, token: str | None) -> str:
    word, say = STATUS_TEXT[status]
    officer_block = rate_button = rate_form = complain = complaint = ""
    if view is not None:
        o, a, c = view["officer"], view["agency"], view["credential"]
        photo = (f'<img src="/v/{escape(token or "")}/photo" alt="照片">' if o["has_photo"] and token
                 else escape(o["name"][:1]))
        rows = [("执法证号", o["certificate_no"] or "—"), ("执法机关", a["name"]),
                ("执法类别", "、".join(o["categories"]) or "—"), ("执法区域", o["region"] or "—"),
                ("有效期", f'{c["valid_from"]} 至 {c["valid_until"]}')]
        dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
        officer_block = (f'<section><div class="person"><div class="photo">{photo}</div><div>'
                         f'<p class="name">{escape(o["name"])}</p><dl>{dl}</dl></div></div></section>')
        rate_button = '<a class="btn rate" href="#rate">评价本次执法</a>'
        rate_form = rating_form(token or "")
        complaint = complaint_form(token or "", o["name"], o["certificate_no"] or "")
        if a["complaint_phone"]:
            phone = escape(a["complaint_phone"])
            complain = f'<dt>{escape(a["name"])}</dt><dd><a href="tel:{phone}">{phone}</a></dd>'
    return _template("verify.html").substitute(
        status=escape(status), status_text=escape(word), status_say=escape(say), checked_at=_when(checked_at),
        officer_block=officer_block, rate_button=rate_button, rate_form=rate_form, complain_lines=complain,
        complaint_form=complaint)


def rating_form(token: str) -> str:
    stars = "".join(f'<label><input type="radio" name="score" value="{n}" required> {n} 分</label>'
                    for n in range(1, 6))
    return (f'<section id="rate"><h2>评价本次执法</h2>'
            f'<form method="post" action="/v/{escape(token)}/rating">'
            f'<fieldset><legend class="muted">1 分最差，5 分最好</legend>{stars}</fieldset>'
            f'<textarea name="text" maxlength="500" placeholder="可选：说说您的感受（匿名）"></textarea>'
            f'<button class="btn submit" type="submit">提交评价</button></form>'
            f'<p class="muted">评价匿名提交，只有执法监督机构可以看到。</p></section>')


def complaint_form(token: str, officer_name: str, certificate_no: str) -> str:
    """The complaint form of a scan, the officer filled in (the token names them); no JavaScript."""
    kinds = "".join(f'<label><input type="radio" name="kind" value="{v}"{" checked" if v == "complaint" else ""}'
                    f' required> {w}</label>' for v, w in (("complaint", "投诉"), ("report", "举报"),
                                                           ("suggestion", "建议")))
    who = escape(officer_name) + (f"（执法证号 {escape(certificate_no)}）" if certificate_no else "")
    return (f'<form method="post" action="/v/{escape(token)}/complaint">'
            f'<p>投诉对象：<strong>{who}</strong></p><fieldset>{kinds}</fieldset>'
            f'<textarea name="text" maxlength="2000" required placeholder="请说明时间、地点和经过"></textarea>'
            f'<input type="text" name="address" maxlength="200" placeholder="可选：地点，如“文三路与学院路口”">'
            f'<button class="btn submit" type="submit">在线提交投诉</button></form>'
            f'<p class="muted">在线提交为匿名；提交后显示受理编号和查询码，请截图保存，凭此查询进度和答复。</p>')


def complaint_receipt(tracking_no: str, query_code: str, leaf_index: int, acknowledge_due_on: Any,
                      answer_due_on: Any, agency_name: str, back: str) -> str:
    """The receipt of a complaint filed from the H5 page."""
    rows = [("受理编号", tracking_no), ("查询码", query_code), ("处理机关", agency_name),
            ("受理期限", str(acknowledge_due_on)), ("答复期限", str(answer_due_on)),
            ("收件记录（透明日志叶序号）", str(leaf_index))]
    dl = "".join(f"<dt>{escape(k)}</dt><dd><strong>{escape(v)}</strong></dd>" for k, v in rows)
    return ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">'
            '<title>投诉已提交</title><style>body{font-family:sans-serif;max-width:560px;margin:0 auto;padding:24px;'
            'font-size:17px}h1{font-size:24px}dl{display:grid;grid-template-columns:auto 1fr;gap:6px 12px}'
            'dt{color:#5c6370}dd{margin:0;word-break:break-all}</style></head><body><main>'
            '<h1>投诉已提交</h1><p>请截图或抄下受理编号和查询码：查询码只显示这一次，凭它们查询进度、查看答复并评价。</p>'
            f'<dl id="receipt">{dl}</dl><p>收件记录已写入公开的透明日志，可凭叶序号证明本投诉已被收到。</p>'
            f'<p><a href="{escape(back)}">返回核验页</a></p></main></body></html>')


def message_page(title: str, text: str, back: str | None = None) -> str:
    link = f'<p><a href="{escape(back)}">返回核验页</a></p>' if back else ""
    return ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><style>body{{font-family:sans-serif;max-width:560px;margin:0 auto;'
            f'padding:24px;font-size:17px}}h1{{font-size:24px}}</style></head><body><main>'
            f'<h1>{escape(title)}</h1><p>{escape(text)}</p>{link}</main></body></html>')


def document(title: str, style: str, body: str) -> str:
    """A whole H5 page: the title, the page's own inline style, the body inside ``<main>``."""
    return ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{style}</style></head><body><main>{body}</main></body></html>")
