"""Complaints from the public (R-X1): what one is about, a verified phone or none, the receipt, the
complainant's own view of it, and the rating of the answer.

A complaint is filed at once: one transaction writes the row, claims its photos, appends its leaf
(``steps.record_intake``) and audits it; the receipt is ``(tracking_no, query_code, leaf_index)``.
The tracking number is readable (``T`` + date + 8 random base32 characters: 40 bits, so numbers
cannot be walked); the query code is 8 more random characters shown once and kept only as a salted
SHA-256. Anyone holding both follows the complaint; any wrong pair is one uniform 404.

A named complaint carries a phone verified by an SMS code (``request_code``; the code travels
through the notification outbox; at most 1 a minute, 5 an hour, 10 a day per number:
``ratelimit.PHONE_CODE_WINDOWS``), or the openid of the mini-program session it was filed with (the
signed-in WeChat user is the complainant, no SMS code needed; they also find it among their own,
``mine``/``one_of_mine``, without the query code). The openid is never shown to anyone, the agency
included. An anonymous one carries nothing about the person.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend import atomic
from backend.clock import Clock
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.models import (
    Agency,
    Case,
    Complaint,
    ComplaintEvent,
    Credential,
    Decision,
    PhoneVerification,
)
from backend.models.enums import (
    AgencyKind,
    ComplaintAbout,
    ComplaintKind,
    ComplaintStatus,
    DecisionStatus,
    NotificationEvent,
)
from backend.services import audit, calendar
from backend.services.apikeys import Principal
from backend.services.complaints import handling, photos, steps
from backend.services.ratelimit import PHONE_CODE_WINDOWS
from backend.services.states import COMPLAINT
from backend.settings import Settings
from notifications import outgoing

MAX_PHOTOS = 9
CODE_TTL = timedelta(minutes=10)
CODE_ATTEMPTS = 5  # wrong codes before a verification is spent
# Crockford's base32: no I, L, O, U; what a person reads back is normalised (O→0, I/L→1).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
TRACKING = re.compile(r"T[0-9]{6}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
QUERY_CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{8}")
PHONE = re.compile(r"1[3-9][0-9]{9}")
PUBLIC = steps.COMPLAINANT
ANSWERED_OR_LATER = frozenset({ComplaintStatus.ANSWERED, ComplaintStatus.CLOSED})
UNSATISFIED = 2  # a rating at or below this escalates at once
SATISFIED = 4  # a rating at or above this counts as satisfied


def complaint_not_found() -> NotFound:
    # One answer for an unknown number, a wrong code, or a malformed either: nothing to tell apart.
    return NotFound("未找到该投诉，请核对受理编号和查询码", code="complaint_not_found")


def subject_not_found() -> NotFound:
    return NotFound("未找到投诉所针对的执法人员、机关、案件或决定", code="complaint_subject_not_found")


def _random(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def new_tracking_no(now: datetime) -> str:
    body = _random(8)
    return f"T{now:%y%m%d}-{body[:4]}-{body[4:]}"


def normalise(value: str) -> str:
    return value.strip().upper().replace(" ", "").translate(_READ_AS)


def code_hash(salt: str, query_code: str) -> str:
    # 40 random bits behind a per-complaint salt: guessing online meets the lookup rate limit, and a
    # reader of the database already sees what the code guards. No slow KDF on the intake path.
    return hashlib.sha256(f"{salt}:{query_code}".encode()).hexdigest()


# -- what a complaint is about ------------------------------------------------------------------------

@dataclass(frozen=True)
class About:
    """Exactly the one thing named (the handler turns a scanned token into ``credential_id``)."""

    kind: ComplaintAbout
    credential_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None
    case_number: str | None = None
    decision_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Subject:
    agency_id: uuid.UUID
    limits: handling.Limits  # the handling agency's, read with the subject (one query per intake)
    officer_id: uuid.UUID | None = None
    credential_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    decision_id: uuid.UUID | None = None


# The handling agency's limits, joined onto each subject's query (``prefix`` leads to the agency).
def _limit_fields(prefix: str) -> tuple[str, str]:
    return f"{prefix}complaint_acknowledge_days", f"{prefix}complaint_answer_days"


def _limits(row: dict[str, Any], prefix: str) -> handling.Limits:
    ack, ans = _limit_fields(prefix)
    return handling.limits_of(row[ack], row[ans])


async def resolve(about: About) -> Subject:
    """The agency that handles the complaint (with its limits) and what it names, in one query; one
    uniform 404 otherwise."""
    if about.kind is ComplaintAbout.OFFICER and about.credential_id is not None:
        a = "officer__agency__"
        cred = await Credential.filter(id=about.credential_id).first().values(
            "id", "officer_id", "officer__agency_id", *_limit_fields(a))
        if cred is None or cred["officer_id"] is None or cred["officer__agency_id"] is None:
            raise subject_not_found()
        return Subject(cred["officer__agency_id"], _limits(cred, a), officer_id=cred["officer_id"],
                       credential_id=cred["id"])
    if about.agency_id is None and about.kind is not ComplaintAbout.DECISION:
        raise subject_not_found()
    if about.kind is ComplaintAbout.AGENCY:
        agency = await Agency.filter(id=about.agency_id).exclude(kind=AgencyKind.SUPERVISOR).first().values(
            "id", *_limit_fields(""))
        if agency is None:
            raise subject_not_found()
        return Subject(agency["id"], _limits(agency, ""))
    if about.kind is ComplaintAbout.CASE and about.case_number:
        case = await Case.filter(agency_id=about.agency_id, number=about.case_number).first().values(
            "id", *_limit_fields("agency__"))
        if case is None:
            raise subject_not_found()
        return Subject(about.agency_id, _limits(case, "agency__"), case_id=case["id"])  # type: ignore[arg-type]  # checked above
    if about.kind is ComplaintAbout.DECISION and about.decision_id is not None:
        decision = await Decision.filter(id=about.decision_id, status__in=[
            DecisionStatus.PUBLISHED, DecisionStatus.CORRECTED]).first().values(
                "id", "agency_id", "case_id", *_limit_fields("agency__"))
        if decision is None:
            raise subject_not_found()
        return Subject(decision["agency_id"], _limits(decision, "agency__"), case_id=decision["case_id"],
                       decision_id=decision["id"])
    raise subject_not_found()


# -- the phone of a named complaint ------------------------------------------------------------------

@dataclass(frozen=True)
class CodeSent:
    verification: PhoneVerification
    notification_ids: list[uuid.UUID]


def _code_hash(verification_id: uuid.UUID, code: str) -> str:
    return hashlib.sha256(f"{verification_id}:{code}".encode()).hexdigest()


async def request_code(settings: Settings, clock: Clock, phone: str, about: About) -> CodeSent:
    """Send a 6-digit code to ``phone`` (an SMS through the outbox, in the handling agency's name).
    At most 1 a minute, 5 an hour and 10 a day per number, counted from the stored requests."""
    if not PHONE.fullmatch(phone):
        raise ValidationFailed("请输入 11 位中国大陆手机号", code="phone_invalid")
    subject = await resolve(about)
    now = clock.now()
    async with in_transaction() as tx:
        if tx.capabilities.dialect == "postgres":  # two requests for one number at once count each other
            key = int.from_bytes(hashlib.sha256(f"phone_code:{phone}".encode()).digest()[:8], "big", signed=True)
            await tx.execute_query("SELECT pg_advisory_xact_lock($1)", [key])
        earlier = await PhoneVerification.filter(phone=phone, requested_at__gt=now - PHONE_CODE_WINDOWS.longest) \
            .only("requested_at")
        PHONE_CODE_WINDOWS.check((e.requested_at for e in earlier), now)  # RateLimited when a window is full
        code = f"{secrets.randbelow(10**6):06d}"
        row = PhoneVerification(id=uuid.uuid4(), phone=phone, requested_at=now, expires_at=now + CODE_TTL)
        row.code_hash = _code_hash(row.id, code)
        await row.save()
        sms = outgoing.to_phone(settings, NotificationEvent.COMPLAINT_PHONE_CODE, f"phone_code:{row.id}",
                                subject.agency_id, phone, {"code": code}, now)
        ids = await outgoing.write([sms])
    return CodeSent(row, ids)


@dataclass(frozen=True)
class Named:
    phone: str
    verification_id: uuid.UUID
    code: str


class CodeInvalid(ValidationFailed):
    code = "phone_code_invalid"
    message = "验证码错误或已失效，请重新获取"


async def _check_code(named: Named, clock: Clock) -> PhoneVerification:
    """The verification, if this code is right for this phone, unexpired, unused and within its
    attempts. A wrong code counts an attempt (committed even though the complaint is not filed)."""
    now = clock.now()
    row = await PhoneVerification.filter(id=named.verification_id, phone=named.phone).first()
    if row is None or row.used_by is not None or row.expires_at <= now or row.attempts >= CODE_ATTEMPTS:
        raise CodeInvalid()
    if not hmac.compare_digest(row.code_hash, _code_hash(row.id, named.code.strip())):
        await PhoneVerification.filter(id=row.id).update(attempts=row.attempts + 1)
        raise CodeInvalid()
    return row


async def scrub_phone_codes(clock: Clock) -> int:
    """No phone or code lingers (the ``scrub_sms_codes`` periodic job): a code spent or expired is
    blanked, here and in its SMS's params, once the SMS has finished; the row, phone included, is
    deleted once the per-number limits no longer count it (``PHONE_CODE_WINDOWS.longest``).
    Returns rows blanked plus rows deleted."""
    now = clock.now()
    return await outgoing.scrub_codes(PhoneVerification, NotificationEvent.COMPLAINT_PHONE_CODE, "phone_code:",
                                      spent=Q(expires_at__lte=now) | Q(used_by__isnull=False),
                                      requested_field="requested_at",
                                      forget_before=now - PHONE_CODE_WINDOWS.longest)


# -- filing ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filing:
    kind: ComplaintKind
    about: About
    text: str
    upload_ids: list[uuid.UUID] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""
    named: Named | None = None
    # The openid of the mini-program session filing it (services/parties/sessions.py): a named
    # complaint without an SMS code. With ``named`` too, both are kept.
    signed_in: str | None = None
    channel: str = "miniprogram"
    # An Open311 integrator's key (a named system) filing on a caller's behalf: the audit entry is
    # theirs, and they read back what they filed (services/complaints/open311.py).
    filed_by: Principal | None = None


@dataclass(frozen=True)
class Receipt:
    complaint: Complaint
    query_code: str

    @property
    def tracking_no(self) -> str:
        return self.complaint.tracking_no

    @property
    def leaf_index(self) -> int:
        assert self.complaint.leaf_index is not None
        return self.complaint.leaf_index


def _spend_verification(dialect: str, verification_id: uuid.UUID, complaint_id: uuid.UUID) -> atomic.Statement:
    """The code is spent by this complaint unless another spent it first (then no row comes back)."""
    if dialect == "postgres":  # in a WITH: tortoise's asyncpg client drops the rows of an UPDATE
        return ("WITH used AS (UPDATE phone_verification SET used_by = $1 WHERE id = $2 AND used_by IS NULL "
                "RETURNING id) SELECT id FROM used", [complaint_id, verification_id])
    return ("UPDATE phone_verification SET used_by = ? WHERE id = ? AND used_by IS NULL RETURNING id",
            [str(complaint_id), str(verification_id)])


def _coarse(value: float | None, bound: float) -> Decimal | None:
    """Rounded to 2 decimals (about 1 km): where, not whose door."""
    if value is None:
        return None
    if not -bound <= value <= bound:
        raise ValidationFailed("位置坐标超出范围", code="location_invalid")
    return Decimal(f"{value:.2f}")


async def file(settings: Settings, clock: Clock, filing: Filing) -> Receipt:
    if len(filing.upload_ids) > MAX_PHOTOS:
        raise ValidationFailed(f"照片最多 {MAX_PHOTOS} 张", code="too_many_photos")
    if len(set(filing.upload_ids)) != len(filing.upload_ids):
        raise ValidationFailed("同一张照片只能提交一次", code="duplicate_upload")
    if (filing.latitude is None) != (filing.longitude is None):
        raise ValidationFailed("位置须同时给出纬度和经度", code="location_invalid")
    lat, lng = _coarse(filing.latitude, 90), _coarse(filing.longitude, 180)
    subject = await resolve(filing.about)
    verification = await _check_code(filing.named, clock) if filing.named is not None else None
    now = clock.now()
    limits = subject.limits
    due = handling.due_dates(await calendar.current(), now.date(), limits.acknowledge_days,
                             limits.answer_days)
    query_code, salt = _random(8), secrets.token_hex(16)
    complaint_id = uuid.uuid4()
    # Everything but the statements is done here, before the transaction: the row, the audit entry
    # (its request id is a context variable, unset where the program runs on SQLite).
    complaint = Complaint(
        id=complaint_id, tracking_no=new_tracking_no(now), kind=filing.kind, about=filing.about.kind,
        agency_id=subject.agency_id, officer_id=subject.officer_id, credential_id=subject.credential_id,
        case_id=subject.case_id, decision_id=subject.decision_id, text=filing.text, photos=[],
        latitude=lat, longitude=lng, address=filing.address,
        anonymous=verification is None and filing.signed_in is None,
        contact_phone=verification.phone if verification is not None else None, wechat_openid=filing.signed_in,
        channel=filing.channel,
        filed_by_key_id=filing.filed_by.key_id if filing.filed_by is not None else None,
        status=ComplaintStatus.SUBMITTED, submitted_at=now, salt=salt,
        query_code_hash=code_hash(salt, query_code),
        acknowledge_due_on=due.acknowledge.on, answer_due_on=due.answer.on,
        acknowledge_days=limits.acknowledge_days, answer_days=limits.answer_days,
        due_on_provisional=due.provisional)
    by = filing.filed_by
    entry = audit.entry(by.actor if by is not None else PUBLIC, "complaint.submit", "complaint", complaint_id,
                        agency_id=subject.agency_id,
                        role=by.role.value if by is not None else steps.COMPLAINANT_ROLE,
                        data={"kind": filing.kind.value, "about": filing.about.kind.value,
                              "photos": len(filing.upload_ids), "named": not complaint.anonymous,
                              "channel": filing.channel})

    def transaction(db: atomic.Db) -> atomic.Program[None]:
        # Statements only, back to back (on SQLite in one call to the connection's thread).
        if filing.upload_ids:
            # Claimed once, by the first complaint that names them; unknown, stale or taken: refused.
            claimed = yield from photos.claim(filing.upload_ids, complaint_id, now, db.dialect)
            if len(claimed) != len(filing.upload_ids):
                raise Conflict("照片不存在、已过期或已被其他投诉使用，请重新上传", code="upload_unavailable")
            complaint.photos = [{"upload_id": str(i), "sha256": claimed[i]} for i in filing.upload_ids]
        if verification is not None:
            used = yield _spend_verification(db.dialect, verification.id, complaint_id)
            if len(used) != 1:
                raise CodeInvalid()
        yield from db.insert(entry)
        # The leaf last: on PostgreSQL the append holds the log's lock until commit, so every other
        # write of the filing happens before it (the lock then covers the row's insert and the commit).
        yield from steps.record_intake(db, complaint, clock)

    await atomic.run(transaction)
    return Receipt(complaint, query_code)


# -- the complainant's own view ----------------------------------------------------------------------

async def find(tracking_no: str, query_code: str) -> Complaint:
    """The complaint if both match; else the uniform 404 (compared in constant time)."""
    number, code = normalise(tracking_no), normalise(query_code)
    if not TRACKING.fullmatch(number) or not QUERY_CODE.fullmatch(code):
        raise complaint_not_found()
    row = await Complaint.filter(tracking_no=number).first()
    if row is None or not hmac.compare_digest(row.query_code_hash, code_hash(row.salt, code)):
        raise complaint_not_found()
    return row


MINE_LIMIT = 100  # a person's own complaints, newest first; nobody files more within the rate limit's reach


async def mine(openid: str) -> list[Complaint]:
    """The complaints filed with a session of this WeChat user, newest first."""
    return await Complaint.filter(wechat_openid=openid).order_by("-submitted_at", "-id").limit(MINE_LIMIT)


async def one_of_mine(openid: str, tracking_no: str) -> Complaint:
    """One of them by its tracking number; someone else's (or none) is the uniform 404."""
    number = normalise(tracking_no)
    if not TRACKING.fullmatch(number):
        raise complaint_not_found()
    row = await Complaint.filter(tracking_no=number, wechat_openid=openid).first()
    if row is None:
        raise complaint_not_found()
    return row


@dataclass(frozen=True)
class PublicStep:
    action: str
    words: str
    at: datetime
    leaf_index: int | None
    note: str  # the agency's words to the complainant (the answer); empty for other steps


async def public_steps(c: Complaint) -> list[PublicStep]:
    """What the complainant sees: receipt and each step, with the agency's answer; no staff names."""
    out = [PublicStep("submit", steps.STEP_WORDS["submit"], c.submitted_at or c.created_at, c.leaf_index, "")]
    for e in await ComplaintEvent.filter(complaint_id=c.id).order_by("id"):
        out.append(PublicStep(e.action, steps.STEP_WORDS.get(e.action, e.action), e.at or e.created_at,
                              e.leaf_index, e.note if e.action == "answer" else ""))
    return out


async def rate(settings: Settings, clock: Clock, tracking_no: str, query_code: str, score: int,
               comment: str = "") -> tuple[Complaint, list[uuid.UUID]]:
    """The complainant rates the answer, once per answer: ≥ 3 closes the complaint, ≤ 2 sends it
    to the supervisor at once (R-X2)."""
    if not 1 <= score <= 5:
        raise ValidationFailed("评分须为 1–5 分", code="validation_error")
    found = await find(tracking_no, query_code)
    now = clock.now()
    async with in_transaction():
        c = await Complaint.filter(id=found.id).select_for_update().get()
        if c.status is not ComplaintStatus.ANSWERED:
            raise Conflict("只能在答复后、评价前对答复进行评价", code="complaint_rating_not_allowed")
        c.satisfaction = score
        await steps.record_step(settings, c, "rate", c.status, PUBLIC, now, clock, note=comment,
                                data={"score": score})
        if score <= UNSATISFIED:
            c.status = COMPLAINT.next(c.status, "escalate")
            c.escalated_at, c.escalation_reason = now, "unsatisfied"
            _, ids = await steps.record_step(settings, c, "escalate", c.status, steps.ESCALATION, now,
                                             clock, data={"reason": "unsatisfied"})
        else:
            c.status = COMPLAINT.next(c.status, "close")
            _, ids = await steps.record_step(settings, c, "close", c.status, PUBLIC, now, clock)
        await c.save(update_fields=["satisfaction", "status", "escalated_at", "escalation_reason", "updated_at"])
    return c, ids
