"""What a credential shows on a given day: its status words, the verify URL, not-found."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from backend.errors import DomainError, NotFound
from backend.models.enums import CredentialStatus

log = logging.getLogger("yangguang.credentials")


C = CredentialStatus
# States in which a credential is the officer's current card (expiry aside).
CURRENT = (C.VALID, C.SUSPENDED)
MAX_VALIDITY = timedelta(days=366 * 10)
VERSION_KEY = "yg:cred:version"


class QrKeyMissing(DomainError):
    status = 409
    code = "qr_key_missing"
    message = "签发该证件二维码的密钥已不存在，请补发证件"


def credential_not_found() -> NotFound:
    return NotFound("未找到该执法证件", code="credential_not_found")


def effective_status(stored: CredentialStatus | str, valid_from: date, valid_until: date,
                     today: date) -> CredentialStatus:
    """What a card shows today. Expiry is computed on read (a card is expired the day after its
    validity even before the cron runs), and a valid card whose validity has not begun is 未生效."""
    status = stored if type(stored) is C else C(stored)  # the enum call is the costly part of a scan's check
    if status in CURRENT and today > valid_until:
        return C.EXPIRED
    if status is C.VALID and today < valid_from:
        return C.NOT_YET_VALID
    return status


def verify_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/v/{token}"
