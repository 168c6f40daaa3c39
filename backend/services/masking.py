"""Masking, in one place: what the public may see of a decision (R-P2) and what a log line may carry.

Publication: natural persons' names as 张*, ID numbers and phone numbers removed, minors never named;
organisations keep their names (their decisions are public by law). The masked text is what the
DecisionVersion stores, so nothing unmasked ever reaches a public page.

Logs: ``redact`` runs the same number rules (``mask_numbers``) over every line, and removes anything
shaped like an API key. The rules find
numbers however they are written: with spaces or dashes between the digits (``138 0013 8000``,
``110101-19900307-1234``), in full-width digits (``１３８００１３８０００``), or mixed.

No aiohttp and no database here: the logging setup imports this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from backend.models.enums import PartyKind

if TYPE_CHECKING:
    from backend.models import Party

ID_MARK, PHONE_MARK = "[身份证号已隐去]", "[电话已隐去]"
LOG_ID_MARK, LOG_PHONE_MARK = "[id-number]", "[phone]"

_D = "[0-9\uff10-\uff19]"  # ASCII and full-width digits
# At most one separator between two digits: space, no-break/ideographic space, ASCII or Unicode dashes.
_SEP = "[ \u00a0\u3000\\-\u2010-\u2015\u2212\ufe63\uff0d]?"
_ALNUM = "0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"


def _digits(n: int) -> str:
    return _SEP.join([_D] * n)


_ID_NUMBER = re.compile(f"(?<![{_ALNUM}]){_digits(17)}{_SEP}[0-9Xx\uff10-\uff19\uff38\uff58](?![{_ALNUM}])")
_PHONE = re.compile(f"(?<![0-9\uff10-\uff19])(?:[+\uff0b]?[8\uff18][6\uff16]{_SEP})?"
                    f"[1\uff11]{_SEP}[3-9\uff13-\uff19]{_SEP}{_digits(9)}(?![0-9\uff10-\uff19])")
# Area code 0xx or 0xxx, then 7 or 8 digits; not inside a decimal, a word or a dashed identifier.
_LANDLINE = re.compile(f"(?<![{_ALNUM}.\\-])[0\uff10]{_digits(2)}{_SEP}{_D}?{_SEP}"
                       f"{_digits(7)}{_SEP}{_D}?(?![{_ALNUM}\\-])")


def mask_numbers(text: str, *, id_mark: str = ID_MARK, phone_mark: str = PHONE_MARK) -> str:
    """Replace resident ID numbers, mobile and landline numbers, however they are written."""
    text = _ID_NUMBER.sub(id_mark, text)
    text = _PHONE.sub(phone_mark, text)
    return _LANDLINE.sub(phone_mark, text)


# Anything shaped like one of our API keys (backend.services.apikeys: yg_ + 43 characters), even cut short.
_API_KEY = re.compile(r"yg_[A-Za-z0-9_\-]{4,}")


def redact(text: str) -> str:
    """What a log line may carry: the same number rules as publication, with short markers, and no key."""
    return mask_numbers(_API_KEY.sub("[key]", text), id_mark=LOG_ID_MARK, phone_mark=LOG_PHONE_MARK)


def mask_recipient(value: str) -> str:
    """A notification recipient as agency staff see it in the delivery log: 138****8000, or o6_b…"""
    if value.isdigit() and len(value) == 11:
        return value[:3] + "****" + value[-4:]
    return value[:4] + "…" if len(value) > 4 else "…"


def mask_person_name(name: str) -> str:
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else name


def public_party_name(party: Party) -> str:
    if party.kind is PartyKind.ORGANIZATION:
        return party.name
    return "未成年人" if party.is_minor else mask_person_name(party.name)


def mask_text(text: str, parties: Iterable[Party]) -> str:
    """The public version of a decision text for the given parties."""
    people = [p for p in parties if p.kind is PartyKind.PERSON]
    # Longest names first, so that 欧阳修 is not half-masked by a party called 欧阳.
    for party in sorted(people, key=lambda p: len(p.name), reverse=True):
        if party.name.strip():
            text = text.replace(party.name.strip(), public_party_name(party))
        if party.id_number:
            text = text.replace(party.id_number, ID_MARK)
        if party.phone:
            text = text.replace(party.phone, PHONE_MARK)
    return mask_numbers(text)


def joined_public_names(parties: Iterable[Party]) -> str:
    return "、".join(public_party_name(p) for p in parties)[:200]
