"""One masking implementation for logs and publication (A.7): numbers are found however they are written.
The publication rules (names, addresses, minors, what stays public) are in test_masking_rules.py."""

from __future__ import annotations

import json
import logging

from hypothesis import given, settings

from backend.logging_setup import JsonFormatter, PlainFormatter
from backend.models import Party
from backend.models.enums import PartyKind
from backend.services.masking import mask_text, redact
from tests.support.pii import CONTEXT, digits_left, id_numbers, phones

_digits_left = digits_left


@settings(max_examples=300, deadline=None)
@given(phones(), CONTEXT, CONTEXT)
def test_log_redaction_finds_phones_however_written(phone: tuple[str, str], before: str, after: str) -> None:
    digits, text = phone
    line = redact(f"{before}{text}{after}")
    assert "[phone]" in line
    assert digits[-8:] not in _digits_left(line)


@settings(max_examples=300, deadline=None)
@given(id_numbers(), CONTEXT, CONTEXT)
def test_log_redaction_finds_id_numbers_however_written(id_number: tuple[str, str], before: str,
                                                        after: str) -> None:
    digits, text = id_number
    line = redact(f"{before}{text}{after}")
    assert "[id-number]" in line
    assert digits[6:14] not in _digits_left(line)


@settings(max_examples=100, deadline=None)
@given(phones(), id_numbers())
def test_publication_masks_the_same_numbers_as_the_logs(phone: tuple[str, str], id_number: tuple[str, str]) -> None:
    text = f"当事人电话{phone[1]}，身份证号{id_number[1]}。"
    public = mask_text(text, [])
    assert "[电话已隐去]" in public and "[身份证号已隐去]" in public
    assert redact(text) == public.replace("[电话已隐去]", "[phone]").replace("[身份证号已隐去]", "[id-number]")


def test_the_examples_that_slipped_through_before() -> None:
    for text in ("138 0013 8000", "110101-19900307-1234", "１３８００１３８０００", "+86 138-0013-8000",
                 "11010519491231002X", "110101 1990 0307 123x", "１１０１０１１９９００３０７１２３４"):
        assert not any(ch.isdigit() for ch in redact(f"号码 {text} 结束")), text


def test_other_numbers_are_left_alone() -> None:
    for text in ("case 2026-0001 amount 5000", "2026-11-28 13:00:00", "took 0.0123456789 s",
                 "id 6f1c2e3a-0123-4567-89ab-0123456789ab", "port 8080 pid 12345"):
        assert redact(text) == text


def test_both_log_formats_redact_messages_and_tracebacks() -> None:
    try:
        raise ValueError("bad phone 138 0013 8000")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "party %s", ("110101-19900307-1234",),
                                   exc_info=__import__("sys").exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert entry["msg"] == "party [id-number]"
    assert "0013" not in entry["exc"] and "[phone]" in entry["exc"]
    assert PlainFormatter().format(record).endswith("party [id-number]")


def test_party_details_and_names_are_masked_for_publication() -> None:
    person = Party(kind=PartyKind.PERSON, name="王小明", phone="13912345678", id_number=None)
    out = mask_text("王小明（电话 139 1234 5678）", [person])
    assert out == "王*（电话 [电话已隐去]）"


def test_log_redaction_removes_anything_shaped_like_a_key() -> None:
    import secrets

    key = f"yg_{secrets.token_urlsafe(32)}"
    for text in (f"Bearer {key}", f"b'Authorization: Bearer {key}\\x01'", f"key={key[:20]}"):
        assert key[3:11] not in redact(text), text
