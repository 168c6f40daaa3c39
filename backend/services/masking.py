"""Masking before publication (R-P2): natural persons' names as 张*, ID numbers and phone numbers
removed, minors never named. Organisations keep their names (their decisions are public by law).

This is the rule set the public version of a decision is built with; the masked text is what the
DecisionVersion stores, so nothing unmasked ever reaches a public page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from backend.models import Party
from backend.models.enums import PartyKind

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_CREDIT_CODE = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])")
_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")


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
            text = text.replace(party.id_number, "[身份证号已隐去]")
        if party.phone:
            text = text.replace(party.phone, "[电话已隐去]")
    text = _ID_NUMBER.sub("[身份证号已隐去]", text)
    text = _PHONE.sub("[电话已隐去]", text)
    return _LANDLINE.sub("[电话已隐去]", text)


def joined_public_names(parties: Iterable[Party]) -> str:
    return "、".join(public_party_name(p) for p in parties)[:200]
