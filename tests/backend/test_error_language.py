"""Every error message a user reads is Chinese from start to end: no stored state, action or role
values inside (technical names such as JSON or the Authorization header are allowed)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from backend.errors import IllegalTransition
from backend.models.enums import Role
from backend.services.states import MACHINES
from backend.statemachine import ROLE_WORDS

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("backend", "miniprogram_api", "notifications", "qr")
ERROR_CLASSES = {"DomainError", "ValidationFailed", "Unauthenticated", "Forbidden", "NotFound", "Conflict",
                 "IllegalTransition", "RateLimited", "MalformedJson", "UnsupportedMediaType", "WechatUnavailable",
                 "WechatNotAnswering"}
TECHNICAL = {"JSON", "application/json", "Authorization", "Bearer", "API", "UUID", "URL", "JPEG", "PNG", "ID",
             "UTF", "MiB", "Content", "Type", "image/jpeg", "image/png", "multipart",
             "HEIC", "WebP", "PDF",
             # API field names and command names are the fixed interface, in English by design.
             "officer_id", "person_name", "system_name", "yangguang", "supervisor", "create",
             "file", "first", "second", "audit", "verify", "preview_hash",
             "kind", "reason", "agency_id", "filed_on", "decided_on", "decision_id", "authority",
             # Open311 GeoReport v2's parameter and resource names.
             "api_key", "services", "json", "service_request_id", "start_date", "end_date", "case_number",
             "lat", "long"}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_/]*")


def _latin_words(text: str) -> set[str]:
    return {w for w in LATIN_WORD.findall(text) if w not in TECHNICAL}


def test_every_refused_transition_reads_in_chinese():
    for machine in MACHINES:
        states = {s for moves in machine.table.values() for pair in moves.items() for s in pair}
        for action, moves in machine.table.items():
            for state in states - set(moves):
                with pytest.raises(IllegalTransition) as err:
                    machine.next(state, action)
                assert not _latin_words(err.value.message), (machine.name, state, action, err.value.message)
                assert err.value.code == f"{machine.name}_{action}_not_allowed"


def test_every_role_has_a_chinese_name():
    assert set(ROLE_WORDS) == set(Role)


def _messages(tree: ast.AST):  # type: ignore[no-untyped-def]
    """(line, literal text, interpolated expressions) of every error message written in the code."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(getattr(b, "id", "") in ERROR_CLASSES for b in node.bases):
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and any(getattr(t, "id", "") == "message" for t in stmt.targets)
                        and isinstance(stmt.value, ast.Constant)):
                    yield stmt.lineno, str(stmt.value.value), []
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ERROR_CLASSES and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield node.lineno, arg.value, []
            elif isinstance(arg, ast.JoinedStr):
                text = "".join(str(v.value) for v in arg.values if isinstance(v, ast.Constant))
                exprs = [v.value for v in arg.values if isinstance(v, ast.FormattedValue)]
                yield node.lineno, text, exprs


def test_no_error_message_in_the_code_contains_english():
    offenders = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for line, text, exprs in _messages(ast.parse(path.read_text(encoding="utf-8"))):
                if _latin_words(text):
                    offenders.append(f"{path.relative_to(ROOT)}:{line}: {text}")
                # A stored enum value (`x.value`, `x.name`) interpolated into a message is English.
                for expr in exprs:
                    if isinstance(expr, ast.Attribute) and expr.attr in ("value", "name"):
                        offenders.append(f"{path.relative_to(ROOT)}:{line}: interpolates .{expr.attr}")
    assert not offenders, "\n".join(offenders)
